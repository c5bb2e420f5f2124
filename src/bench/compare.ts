/**
 * Two bench runs side by side: for every configuration both ran (`self-consistency n=8`), on
 * the problems both answered (matched by problem id), the paired difference in accuracy B − A
 * with a paired bootstrap interval over problems, the accuracies and tokens of each, and the
 * problems one got right and the other wrong. What someone choosing between a new model and the
 * old one, or a new recipe and the last, needs; configurations or problems only one run has are
 * counted, never silently dropped.
 */
import { ReckonError } from "../core/errors.js";
import { deriveSeed } from "../core/random.js";
import { totalTokens } from "../core/types.js";
import type { ResultFacts } from "../store/results.js";
import type { RunRecord, RunStore } from "../store/sqlite.js";
import { bootstrapMeanInterval } from "./bootstrap.js";
import { benchConfigs, parseRecipe } from "./recipe.js";

/** Two runs cannot be compared (nothing in common). */
export class ComparisonError extends ReckonError {}

export interface CompareOptions {
  /** Seed of the bootstrap resamples (default 0): the same seed gives the same intervals. */
  seed?: number;
  /** Coverage of the intervals (default 0.95). */
  confidence?: number;
  /** Bootstrap resamples per configuration (default 2000). */
  resamples?: number;
  /** How a run's status is shown (default: as stored); the CLI tells a dead "running" run apart. */
  statusOf?: (run: RunRecord) => string;
}

/** One side of the comparison. */
export interface ComparedRun {
  runId: string;
  name?: string;
  status: string;
  dataset?: string;
  backend?: string;
  model?: string;
  problems: number;
}

export interface ConfigComparison {
  config: string;
  /** Problems both runs answered with this configuration: what every figure below is over. */
  problems: number;
  accuracyA: number;
  accuracyB: number;
  /** accuracyB − accuracyA, with its paired bootstrap interval. */
  difference: number;
  ciLow: number;
  ciHigh: number;
  /** Problems B got right and A wrong. */
  wins: number;
  /** Problems A got right and B wrong. */
  losses: number;
  /** Two-sided exact McNemar test of wins against losses (a binomial test on the discordant problems). */
  pValue: number;
  /** Mean tokens per problem: prompt, generated and verifier. */
  meanTokensA: number;
  meanTokensB: number;
  /** Mean generated (completion) tokens per problem. */
  meanGeneratedTokensA: number;
  meanGeneratedTokensB: number;
  /** Results of this configuration left out because the other run has none for their problem. */
  unpaired: { onlyA: number; onlyB: number };
  /** The two runs ran this configuration with different options (e.g. another temperature). */
  optionsDiffer?: boolean;
}

export interface RunComparison {
  a: ComparedRun;
  b: ComparedRun;
  /** How the intervals were computed, in words. */
  method: string;
  confidence: number;
  resamples: number;
  seed: number;
  /** Problems (by id) stored in both runs, and in one only (excluded from every figure). */
  problems: { shared: number; onlyA: number; onlyB: number };
  configs: ConfigComparison[];
  /** Configurations one run has and the other does not. */
  onlyInA: string[];
  onlyInB: string[];
  /** What the reader should know: unfinished runs, other datasets, references that differ. */
  warnings: string[];
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((x, y) => x + y, 0) / values.length;

/** The recipe's fields a comparison reports, read leniently (an old recipe may not parse). */
function recipeOf(run: RunRecord) {
  const raw = (run.recipe ?? {}) as {
    name?: string;
    model?: string;
    task?: string;
    dataset?: Record<string, unknown>;
  };
  let configs: Map<string, string> | undefined;
  let task = raw.task;
  try {
    const recipe = parseRecipe(run.recipe, `run ${run.id} recipe`);
    task = recipe.task;
    configs = new Map(benchConfigs(recipe).map((c) => [c.config, JSON.stringify(c.options)]));
  } catch {
    // Unreadable with this reckon's strategies: order by results, options not compared.
  }
  return { name: raw.name, model: raw.model, task, dataset: raw.dataset, configs };
}

/** A dataset spec in a few words: `math500 (limit 50, levels 1,2)`. */
export function describeDataset(dataset: Record<string, unknown> | undefined): string | undefined {
  if (!dataset || typeof dataset.name !== "string") return undefined;
  const details = Object.entries(dataset)
    .filter(([key, value]) => key !== "name" && value !== undefined)
    .map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(",") : String(value)}`);
  return details.length === 0 ? dataset.name : `${dataset.name} (${details.join(", ")})`;
}

/**
 * Compares run B against run A in one store. Throws a StoreError naming an unknown run id, and
 * a ComparisonError when the runs share no problem.
 */
export function compareRuns(
  store: RunStore,
  runIdA: string,
  runIdB: string,
  options: CompareOptions = {},
): RunComparison {
  const seed = options.seed ?? 0;
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const statusOf = options.statusOf ?? ((run: RunRecord) => run.status);
  const runA = store.getRun(runIdA);
  const runB = store.getRun(runIdB);
  const recipeA = recipeOf(runA);
  const recipeB = recipeOf(runB);
  const problemsA = store.getProblems(runIdA);
  const problemsB = store.getProblems(runIdB);
  const referenceOfA = new Map(problemsA.map((p) => [p.problemId, p.reference]));
  const shared = problemsB.filter((p) => referenceOfA.has(p.problemId));
  const side = (run: RunRecord, recipe: ReturnType<typeof recipeOf>, problems: number): ComparedRun => ({
    runId: run.id,
    ...(recipe.name ? { name: recipe.name } : {}),
    status: statusOf(run),
    ...(recipe.dataset ? { dataset: describeDataset(recipe.dataset) } : {}),
    ...(run.backend ? { backend: run.backend } : {}),
    ...(recipe.model ? { model: recipe.model } : {}),
    problems,
  });
  if (shared.length === 0)
    throw new ComparisonError(
      `runs ${runIdA} and ${runIdB} share no problem (${problemsA.length} and ${problemsB.length} problems, matched by id)`,
      "compare runs made on the same dataset",
    );

  const warnings: string[] = [];
  for (const run of runIdA === runIdB ? [runA] : [runA, runB]) {
    const status = statusOf(run);
    if (status !== "completed")
      warnings.push(`run ${run.id} is not finished (${status}): the results it stored so far are compared`);
  }
  if (JSON.stringify(recipeA.dataset) !== JSON.stringify(recipeB.dataset))
    warnings.push(
      `the runs' datasets differ (${describeDataset(recipeA.dataset) ?? "?"} against ${describeDataset(recipeB.dataset) ?? "?"}): only the ${shared.length} problems with the same id in both are compared`,
    );
  if (recipeA.task !== undefined && recipeB.task !== undefined && recipeA.task !== recipeB.task)
    warnings.push(`the runs grade with different tasks (${recipeA.task} against ${recipeB.task})`);
  const otherReference = shared.filter((p) => referenceOfA.get(p.problemId) !== p.reference).length;
  if (otherReference > 0)
    warnings.push(`${otherReference} of the shared problems have a different reference answer in each run`);

  const sharedIds = new Set(shared.map((p) => p.problemId));
  const byConfigA = groupByConfig(store.results.facts(runIdA), sharedIds);
  const byConfigB = groupByConfig(store.results.facts(runIdB), sharedIds);
  const order = (recipe: ReturnType<typeof recipeOf>, found: Map<string, unknown>) => [
    ...new Set([...(recipe.configs?.keys() ?? []), ...found.keys()].filter((c) => found.has(c))),
  ];
  const configsA = order(recipeA, byConfigA);
  const configsB = order(recipeB, byConfigB);
  const configs: ConfigComparison[] = [];
  for (const config of configsB) {
    const a = byConfigA.get(config);
    const b = byConfigB.get(config)!;
    if (!a) continue;
    const optionsA = recipeA.configs?.get(config);
    const optionsB = recipeB.configs?.get(config);
    const optionsDiffer = optionsA !== undefined && optionsB !== undefined && optionsA !== optionsB;
    if (optionsDiffer)
      warnings.push(`${config} ran with different options in each run: compare its rows with care`);
    configs.push({
      ...compareConfig(config, a, b, { seed, confidence, resamples }),
      ...(optionsDiffer ? { optionsDiffer } : {}),
    });
  }
  return {
    a: side(runA, recipeA, problemsA.length),
    b: side(runB, recipeB, problemsB.length),
    method: `paired bootstrap over problems (${resamples} resamples, seed ${seed}, percentile interval); p: exact McNemar test`,
    confidence,
    resamples,
    seed,
    problems: {
      shared: shared.length,
      onlyA: problemsA.length - shared.length,
      onlyB: problemsB.length - shared.length,
    },
    configs,
    onlyInA: configsA.filter((c) => !byConfigB.has(c)),
    onlyInB: configsB.filter((c) => !byConfigA.has(c)),
    warnings,
  };
}

interface Grouped {
  /** Results on shared problems, by problem id. */
  results: Map<string, ResultFacts>;
  /** Results on problems the other run does not have. */
  elsewhere: number;
}

function groupByConfig(facts: readonly ResultFacts[], shared: ReadonlySet<string>): Map<string, Grouped> {
  const groups = new Map<string, Grouped>();
  for (const r of facts) {
    let group = groups.get(r.config);
    if (!group) {
      group = { results: new Map(), elsewhere: 0 };
      groups.set(r.config, group);
    }
    if (shared.has(r.problemId)) group.results.set(r.problemId, r);
    else group.elsewhere += 1;
  }
  return groups;
}

/** One configuration's paired figures over the problems both runs answered with it. */
export function compareConfig(
  config: string,
  a: Grouped,
  b: Grouped,
  options: { seed: number; confidence: number; resamples: number },
): Omit<ConfigComparison, "optionsDiffer"> {
  const pairs: [ResultFacts, ResultFacts][] = [];
  for (const [problemId, resultB] of b.results) {
    const resultA = a.results.get(problemId);
    if (resultA) pairs.push([resultA, resultB]);
  }
  const differences = pairs.map(([x, y]) => Number(y.correct) - Number(x.correct));
  const interval = bootstrapMeanInterval(differences, {
    seed: deriveSeed(options.seed, "compare", config),
    confidence: options.confidence,
    resamples: options.resamples,
  });
  const wins = differences.filter((d) => d > 0).length;
  const losses = differences.filter((d) => d < 0).length;
  return {
    config,
    problems: pairs.length,
    accuracyA: mean(pairs.map(([x]) => Number(x.correct))),
    accuracyB: mean(pairs.map(([, y]) => Number(y.correct))),
    difference: interval.mean,
    ciLow: interval.low,
    ciHigh: interval.high,
    wins,
    losses,
    pValue: exactMcNemar(wins, losses),
    meanTokensA: mean(pairs.map(([x]) => totalTokens(x.usage))),
    meanTokensB: mean(pairs.map(([, y]) => totalTokens(y.usage))),
    meanGeneratedTokensA: mean(pairs.map(([x]) => x.usage.completionTokens)),
    meanGeneratedTokensB: mean(pairs.map(([, y]) => y.usage.completionTokens)),
    unpaired: {
      onlyA: a.elsewhere + a.results.size - pairs.length,
      onlyB: b.elsewhere + b.results.size - pairs.length,
    },
  };
}

/**
 * Two-sided exact McNemar test: under no difference, each of the `wins + losses` discordant
 * problems goes either way with probability 1/2; p is twice the smaller binomial tail (capped
 * at 1). No discordant problem gives 1.
 */
export function exactMcNemar(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  // Σ_{i≤k} C(n, i) / 2^n, term by term in logs so that large n neither overflows nor underflows.
  let logTerm = -n * Math.LN2;
  let tail = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logTerm);
  }
  return Math.min(1, 2 * tail);
}

const points = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : "–");
const signedPoints = (x: number) => (x > 0 ? `+${points(x)}` : x === 0 ? "0.0" : points(x));
const tokens = (x: number) => (Number.isFinite(x) ? String(Math.round(x)) : "–");

function runLine(label: string, run: ComparedRun): string {
  const details = [run.status, run.dataset, run.model ?? run.backend, `${run.problems} problems`].filter(
    Boolean,
  );
  return `${label} ${run.runId}${run.name ? ` (${run.name})` : ""}: ${details.join(", ")}`;
}

/** The comparison as a plain-text table, with the runs, the method and every warning. */
export function formatComparison(c: RunComparison): string {
  const level = `${Math.round(c.confidence * 1000) / 10}%`;
  const lines = [
    runLine("A", c.a),
    runLine("B", c.b),
    `${c.problems.shared} problems in both runs${
      c.problems.onlyA + c.problems.onlyB > 0
        ? ` (left out: ${c.problems.onlyA} only in A, ${c.problems.onlyB} only in B)`
        : ""
    }`,
    ...c.warnings.map((w) => `warning: ${w}`),
  ];
  if (c.configs.length > 0) {
    lines.push(
      "",
      `accuracy B − A in percentage points [${level} CI: ${c.method}]`,
      "wins: problems B got right and A wrong; losses: A right and B wrong; tokens per problem (prompt + generated + verifier)",
    );
    const table = [
      [
        "configuration",
        "n",
        "acc A %",
        "acc B %",
        `B − A [${level} CI]`,
        "wins",
        "losses",
        "p",
        "tokens A",
        "tokens B",
      ],
      ...c.configs.map((r) => [
        `${r.config}${r.optionsDiffer ? " *" : ""}`,
        String(r.problems),
        points(r.accuracyA),
        points(r.accuracyB),
        `${signedPoints(r.difference)} [${signedPoints(r.ciLow)}, ${signedPoints(r.ciHigh)}]`,
        String(r.wins),
        String(r.losses),
        r.pValue < 0.001 ? "<0.001" : r.pValue.toFixed(3),
        tokens(r.meanTokensA),
        tokens(r.meanTokensB),
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      lines.push(
        row
          .map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join("  ")
          .trimEnd(),
      );
    if (c.configs.some((r) => r.optionsDiffer)) lines.push("* ran with different options in each run");
    const unpaired = c.configs.filter((r) => r.unpaired.onlyA + r.unpaired.onlyB > 0);
    for (const r of unpaired)
      lines.push(
        `${r.config}: left out ${r.unpaired.onlyA} result(s) only A has and ${r.unpaired.onlyB} only B has`,
      );
  } else lines.push("", "no configuration is in both runs");
  if (c.onlyInA.length > 0) lines.push(`only in A (not compared): ${c.onlyInA.join(", ")}`);
  if (c.onlyInB.length > 0) lines.push(`only in B (not compared): ${c.onlyInB.join(", ")}`);
  return `${lines.join("\n")}\n`;
}
