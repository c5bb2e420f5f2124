/**
 * The run page's problem table, filtered, sorted and paged on the server from query parameters
 * (`?config=…&answers=wrong&level=3&disagree=yes&sort=tokens&order=desc&page=2&per=50`), so
 * that every view is a link that works without scripts. Parameters are validated with zod; a
 * bad one is a `QueryParameterError` naming it, which the route answers with 400.
 */
import { z } from "zod";
import { tallyAnswers } from "../../core/selection.js";
import { type Candidate, type Task, totalTokens } from "../../core/types.js";
import type { CandidateAnswer, ResultFacts } from "../../store/results.js";
import type { ProblemRecord } from "../../store/sqlite.js";

export class QueryParameterError extends Error {
  constructor(
    readonly parameter: string,
    problem: string,
  ) {
    super(`invalid parameter ${parameter}: ${problem}`);
  }
}

export const sortKeys = ["position", "problem", "level", "correct", "disagreement", "tokens"] as const;
export type SortKey = (typeof sortKeys)[number];

/** The order a column sorts in when first clicked: what a user looks for first. */
const defaultOrder: Record<SortKey, "asc" | "desc"> = {
  position: "asc",
  problem: "asc",
  level: "asc",
  correct: "asc", // wrong answers first
  disagreement: "desc", // most disputed first
  tokens: "desc", // most expensive first
};

export const problemQuerySchema = z.strictObject({
  /** The configuration the filters and sorts look at (and the only one shown); absent: all. */
  config: z.string().min(1).optional(),
  answers: z.enum(["all", "correct", "wrong"]).default("all"),
  level: z.coerce.number().int().optional(),
  disagree: z.enum(["all", "yes", "no"]).default("all"),
  sort: z.enum(sortKeys).default("position"),
  order: z.enum(["asc", "desc"]).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per: z.coerce.number().int().min(1).max(500).default(50),
});
export type ProblemQuery = z.output<typeof problemQuerySchema>;

/** Parses the query string's parameters; an empty value (a form's "any") counts as absent. */
export function parseProblemQuery(raw: Record<string, string>): ProblemQuery {
  const given = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== ""));
  const parsed = problemQuerySchema.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys")
    throw new QueryParameterError(
      issue.keys[0]!,
      `unknown parameter (known: ${Object.keys(problemQuerySchema.shape).join(", ")})`,
    );
  throw new QueryParameterError(String(issue.path[0] ?? "query"), issue.message);
}

/** One problem of the table, with what it is filtered and sorted by. */
export interface ProblemRow {
  problem: ProblemRecord;
  /** The results of the configurations shown, by configuration. */
  results: Map<string, ResultFacts>;
  /** Fraction of the shown configurations' results that are right (undefined: none stored). */
  correct?: number;
  /** Distinct answers among the candidates (no answer counts as one), and the share of the most common. */
  answers: number;
  agreement: number;
  /** Tokens per result of the shown configurations: prompt, generated and verifier. */
  tokens?: number;
}

export interface ProblemTable {
  rows: ProblemRow[];
  /** Problems that pass the filters, over all pages. */
  matching: number;
  pages: number;
  /** The configurations shown as columns. */
  configs: string[];
  levels: number[];
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;

/**
 * How much the candidates disagree: distinct answers (grouped by the task's equivalence; a
 * candidate without an answer makes a group of its own) and the share of the largest group.
 */
export function candidateAgreement(
  candidates: readonly CandidateAnswer[],
  task: Task,
): { answers: number; agreement: number } {
  if (candidates.length === 0) return { answers: 0, agreement: 1 };
  // Each distinct text compared once, weighted by how many candidates gave it.
  const counts = new Map<string, number>();
  let unanswered = 0;
  for (const c of candidates)
    if (c.answer === undefined) unanswered += 1;
    else counts.set(c.answer, (counts.get(c.answer) ?? 0) + 1);
  const distinct: Candidate[] = [...counts.keys()].map((answer) => ({
    text: "",
    tokens: 0,
    finishReason: "eos",
    answer,
  }));
  const tally = tallyAnswers(distinct, task, (c) => counts.get(c.answer!)!);
  const largest = Math.max(unanswered, ...tally.map((t) => t.score ?? t.count));
  return { answers: tally.length + (unanswered > 0 ? 1 : 0), agreement: largest / candidates.length };
}

/**
 * The page of problems a query asks for. `candidatesOf` gives a problem's candidates by
 * configuration (read from the store only for problems with results).
 */
export function problemTable(
  problems: readonly ProblemRecord[],
  facts: readonly ResultFacts[],
  configs: readonly string[],
  candidatesOf: (problemId: string) => Map<string, CandidateAnswer[]>,
  task: Task,
  query: ProblemQuery,
): ProblemTable {
  const levels = [...new Set(problems.flatMap((p) => (p.level === undefined ? [] : [p.level])))].sort(
    (a, b) => a - b,
  );
  if (query.config !== undefined && !configs.includes(query.config))
    throw new QueryParameterError(
      "config",
      `this run has no configuration "${query.config}" (it has: ${configs.join(", ")})`,
    );
  if (query.level !== undefined && !levels.includes(query.level))
    throw new QueryParameterError(
      "level",
      levels.length === 0
        ? "this run's problems have no levels"
        : `no problem has level ${query.level} (levels: ${levels.join(", ")})`,
    );
  const shown = query.config === undefined ? [...configs] : [query.config];
  const byProblem = new Map<string, Map<string, ResultFacts>>();
  for (const r of facts) {
    if (!shown.includes(r.config)) continue;
    const own = byProblem.get(r.problemId) ?? new Map<string, ResultFacts>();
    own.set(r.config, r);
    byProblem.set(r.problemId, own);
  }

  let rows: ProblemRow[] = problems
    .filter((p) => query.level === undefined || p.level === query.level)
    .map((problem) => {
      const results = byProblem.get(problem.problemId) ?? new Map<string, ResultFacts>();
      const stored = [...results.values()];
      const candidates: CandidateAnswer[] = [];
      if (stored.length > 0) {
        // A draw several configurations saw counts once.
        const seen = new Set<number>();
        for (const [config, list] of candidatesOf(problem.problemId)) {
          if (!results.has(config)) continue;
          for (const c of list) {
            if (c.draw !== undefined && seen.has(c.draw)) continue;
            if (c.draw !== undefined) seen.add(c.draw);
            candidates.push(c);
          }
        }
      }
      const correct = mean(stored.map((r) => (r.correct ? 1 : 0)));
      const tokens = mean(stored.map((r) => totalTokens(r.usage)));
      return {
        problem,
        results,
        ...(correct === undefined ? {} : { correct }),
        ...candidateAgreement(candidates, task),
        ...(tokens === undefined ? {} : { tokens }),
      };
    });
  if (query.answers !== "all")
    rows = rows.filter((r) =>
      query.answers === "correct" ? r.correct === 1 : r.correct !== undefined && r.correct < 1,
    );
  if (query.disagree !== "all") rows = rows.filter((r) => r.answers > 1 === (query.disagree === "yes"));

  const direction = currentOrder(query) === "asc" ? 1 : -1;
  const key = sortKeyOf(query.sort);
  rows.sort((a, b) => {
    const order = compareValues(key(a), key(b));
    // Missing values last whatever the direction; ties in dataset order.
    if (order === "missing-a") return 1;
    if (order === "missing-b") return -1;
    return direction * order || a.problem.position - b.problem.position;
  });
  const pages = Math.max(1, Math.ceil(rows.length / query.per));
  const start = (query.page - 1) * query.per;
  return { rows: rows.slice(start, start + query.per), matching: rows.length, pages, configs: shown, levels };
}

type SortValue = number | string | undefined;

function sortKeyOf(sort: SortKey): (row: ProblemRow) => SortValue | SortValue[] {
  switch (sort) {
    case "position":
      return (r) => r.problem.position;
    case "problem":
      return (r) => r.problem.problemId;
    case "level":
      return (r) => r.problem.level;
    case "correct":
      return (r) => r.correct;
    case "disagreement":
      // Most disputed: the smallest share for the most common answer, then the most answers.
      return (r) => [-r.agreement, r.answers];
    case "tokens":
      return (r) => r.tokens;
  }
}

const collator = new Intl.Collator("en", { numeric: true });

function compareValues(
  a: SortValue | SortValue[],
  b: SortValue | SortValue[],
): number | "missing-a" | "missing-b" {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < a.length; i++) {
      const order = compareValues(a[i], b[i]);
      if (order !== 0) return order;
    }
    return 0;
  }
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? "missing-a" : "missing-b";
  if (typeof a === "string" || typeof b === "string") return collator.compare(String(a), String(b));
  return (a as number) - (b as number);
}

/** A link to the same table with some parameters changed; defaults are left out of the URL. */
export function tableHref(base: string, query: ProblemQuery, change: Partial<ProblemQuery>): string {
  const next = { ...query, ...change };
  const defaults = problemQuerySchema.parse({});
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(next))
    if (value !== undefined && value !== (defaults as Record<string, unknown>)[key])
      params.set(key, String(value));
  const text = params.toString();
  return text === "" ? base : `${base}?${text}`;
}

/** The order the table is sorted in. */
export const currentOrder = (query: ProblemQuery): "asc" | "desc" => query.order ?? defaultOrder[query.sort];

/** The order a click on a column's header asks for: the other way round if it is the sort already. */
export function nextOrder(query: ProblemQuery, sort: SortKey): "asc" | "desc" {
  if (query.sort !== sort) return defaultOrder[sort];
  return currentOrder(query) === "asc" ? "desc" : "asc";
}
