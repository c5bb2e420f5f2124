/**
 * The `results` table: what each strategy configuration answered for each problem, and what it
 * spent. A candidate that is one of the run's draws is stored as a reference to it (its id,
 * answer and score), never as a second copy of its text; the trace events that repeat a
 * referenced text name the draw too. Reading a result puts the texts back, and, when asked, the
 * thinking of the draws (a reasoning model's, kept with each draw, never copied here).
 */
import type Database from "better-sqlite3";
import type { TraceEvent } from "../core/trace.js";
import type { FinishReason, StopReason, Usage } from "../core/types.js";
import { statementCache } from "./statements.js";

/** A candidate as kept with a result: enough to show votes and scores, not the logprobs. */
export interface StoredCandidate {
  text: string;
  answer?: string;
  score?: number;
  tokens: number;
  finishReason: FinishReason;
  /** A reasoning model's thinking: read from the draw, and only when asked (it can be long). */
  reasoning?: string;
  /** Of `tokens`, those spent thinking, when counted apart. */
  reasoningTokens?: number;
  /** The draw this candidate is (same text, tokens and finish reason): stored by reference. */
  draw?: number;
}

export interface ResultRecord {
  problemId: string;
  /** The strategy configuration, e.g. "self-consistency n=8": unique within a run. */
  config: string;
  strategy: string;
  /** The line this configuration belongs to in a chart, e.g. "self-consistency". */
  series: string;
  /** The value of the option that varies along the series (e.g. n), or 1. */
  budget: number;
  options: Record<string, unknown>;
  answer?: string;
  correct: boolean;
  stopReason: StopReason;
  usage: Usage;
  candidates: StoredCandidate[];
  trace: TraceEvent[];
  detail?: Record<string, unknown>;
}

/** A result without its candidates' texts and trace: what metrics and summaries need. */
export interface ResultFacts {
  problemId: string;
  config: string;
  strategy: string;
  series: string;
  budget: number;
  answer?: string;
  correct: boolean;
  stopReason: StopReason;
  usage: Usage;
  /** Candidates the configuration saw. */
  samples: number;
}

/** A candidate's answer and score, without its text. */
export interface CandidateAnswer {
  answer?: string;
  score?: number;
  draw?: number;
}

interface ResultRow {
  problem_id: string;
  config: string;
  strategy: string;
  series: string;
  budget: number;
  options: string;
  answer: string | null;
  correct: number;
  stop_reason: StopReason;
  usage: string;
  candidates: string;
  trace: string;
  detail: string | null;
}

/**
 * A candidate as stored: a draw as `[draw id, answer or null, score]` (trailing parts left out
 * when absent), or (not a draw) the candidate itself.
 */
type DrawRef = [number, (string | null)?, number?];
type StoredForm = DrawRef | Omit<StoredCandidate, "draw"> | { draw: number; answer?: string; score?: number };
/**
 * A trace event as stored: a sample that is a draw (its text and tokens) as
 * `[id, parent or null, milliseconds since the previous event, draw id]`; another event that
 * repeats a draw's text with `draw` in place of the text; any other event as it is.
 */
type SampleRef = [number, number | null, number, number];
type StoredEvent = SampleRef | (TraceEvent & { draw?: number });

const sampleKeys = new Set(["id", "parent", "kind", "text", "tokens", "at"]);

/** The draws of a result's candidates by their text, in candidate order. */
type DrawsByText = Map<string, { draw: number; tokens: number }[]>;

function storedCandidates(candidates: readonly StoredCandidate[]): {
  forms: StoredForm[];
  byText: DrawsByText;
} {
  const byText: DrawsByText = new Map();
  const forms = candidates.map(
    ({ draw, text, answer, score, tokens, finishReason, ...thinking }): StoredForm => {
      if (draw === undefined)
        return {
          text,
          ...(answer === undefined ? {} : { answer }),
          ...(score === undefined ? {} : { score }),
          tokens,
          finishReason,
          ...(thinking.reasoning === undefined ? {} : { reasoning: thinking.reasoning }),
          ...(thinking.reasoningTokens === undefined ? {} : { reasoningTokens: thinking.reasoningTokens }),
        };
      byText.set(text, [...(byText.get(text) ?? []), { draw, tokens }]);
      if (score !== undefined) return [draw, answer ?? null, score];
      return answer === undefined ? [draw] : [draw, answer];
    },
  );
  return { forms, byText };
}

function storedTrace(trace: readonly TraceEvent[], byText: DrawsByText): StoredEvent[] {
  // Samples with one text (a reasoning model's short answer) may differ in their thinking:
  // each sample event stands for the next draw of its text and tokens not yet taken.
  const taken = new Set<number>();
  return trace.map((event, i): StoredEvent => {
    const refs = event.text === undefined ? undefined : byText.get(event.text);
    if (refs === undefined) return event;
    const plain = Object.entries(event).every(([key, value]) => value === undefined || sampleKeys.has(key));
    const same = event.kind === "sample" && plain ? refs.filter((r) => r.tokens === event.tokens) : [];
    const sample = same.find((r) => !taken.has(r.draw)) ?? same[0];
    if (sample !== undefined) {
      taken.add(sample.draw);
      return [event.id, event.parent ?? null, event.at - (i === 0 ? 0 : trace[i - 1]!.at), sample.draw];
    }
    const { text: _text, ...rest } = event;
    return { ...rest, draw: refs.at(-1)!.draw };
  });
}

/** A stored candidate read back without its text: the draw it is, its answer and score. */
function candidateAnswer(
  form: StoredForm | { draw: number; answer?: string; score?: number },
): CandidateAnswer {
  if (Array.isArray(form)) {
    const [draw, answer, score] = form;
    return {
      draw,
      ...(answer === undefined || answer === null ? {} : { answer }),
      ...(score === undefined ? {} : { score }),
    };
  }
  return {
    ...(form.answer === undefined ? {} : { answer: form.answer }),
    ...(form.score === undefined ? {} : { score: form.score }),
    ...("draw" in form ? { draw: form.draw } : {}),
  };
}

/**
 * A stored result's candidates and trace with the texts of the problem's draws replaced by
 * references (`byText`: a draw of the problem by its text); undefined when nothing changes.
 * Used to upgrade databases written before results referenced draws.
 */
export function compactResultRow(
  candidatesJson: string,
  traceJson: string,
  byText: ReadonlyMap<string, { id: number; tokens: number; finishReason: string }>,
): { candidates: string; trace: string } | undefined {
  const candidates = JSON.parse(candidatesJson) as Omit<StoredCandidate, "draw">[];
  let changed = false;
  const withDraws = candidates.map((c): StoredCandidate => {
    const draw = byText.get(c.text);
    if (draw && draw.tokens === c.tokens && draw.finishReason === c.finishReason) {
      changed = true;
      return { ...c, draw: draw.id };
    }
    return c;
  });
  if (!changed) return undefined;
  const { forms, byText: referenced } = storedCandidates(withDraws);
  return {
    candidates: JSON.stringify(forms),
    trace: JSON.stringify(storedTrace(JSON.parse(traceJson) as TraceEvent[], referenced)),
  };
}

const answersOf = (candidates: string): CandidateAnswer[] =>
  (JSON.parse(candidates) as StoredForm[]).map(candidateAnswer);

/** A draw as a result's reading needs it; thinking only when it was asked for. */
interface DrawText {
  text: string;
  tokens: number;
  finish_reason: FinishReason;
  reasoning: string | null;
  reasoning_tokens: number | null;
}

/** The thinking of a draw, as the optional fields of a candidate or trace event. */
const thinkingOf = (d: DrawText): { reasoning?: string; reasoningTokens?: number } => ({
  ...(d.reasoning === null ? {} : { reasoning: d.reasoning }),
  ...(d.reasoning_tokens === null ? {} : { reasoningTokens: d.reasoning_tokens }),
});

/** Trace events that stand for a drawn sample: they show its thinking. */
const drawnKinds = new Set<TraceEvent["kind"]>(["sample", "revised", "step"]);

function traceOf(json: string, drawOf: (id: number) => DrawText): TraceEvent[] {
  let previousAt = 0;
  return (JSON.parse(json) as StoredEvent[]).map((event): TraceEvent => {
    if (Array.isArray(event)) {
      const [id, parent, sincePrevious, drawId] = event;
      const d = drawOf(drawId);
      previousAt += sincePrevious;
      return {
        id,
        ...(parent === null ? {} : { parent }),
        kind: "sample",
        text: d.text,
        tokens: d.tokens,
        ...thinkingOf(d),
        at: previousAt,
      };
    }
    previousAt = event.at;
    if (event.draw === undefined) return event;
    const { draw: id, ...rest } = event;
    const d = drawOf(id);
    return { ...rest, text: d.text, ...(drawnKinds.has(event.kind) ? thinkingOf(d) : {}) };
  });
}

export class ResultTable {
  private readonly statement: (sql: string) => Database.Statement;
  constructor(db: Database.Database) {
    this.statement = statementCache(db);
  }

  add(runId: string, r: ResultRecord): void {
    const { forms, byText } = storedCandidates(r.candidates);
    this.statement(
      `INSERT INTO results (run_id, problem_id, config, strategy, series, budget, options, answer, correct,
           stop_reason, usage, candidates, trace, detail, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      r.problemId,
      r.config,
      r.strategy,
      r.series,
      r.budget,
      JSON.stringify(r.options),
      r.answer ?? null,
      r.correct ? 1 : 0,
      r.stopReason,
      JSON.stringify(r.usage),
      JSON.stringify(forms),
      JSON.stringify(storedTrace(r.trace, byText)),
      r.detail === undefined ? null : JSON.stringify(r.detail),
      new Date().toISOString(),
    );
  }

  /**
   * Results by problem position, then in the order they were stored, with every text in place;
   * with `reasoning`, the thinking of the candidates and trace samples that are draws too.
   */
  list(
    runId: string,
    filter: { problemId?: string; config?: string } = {},
    options: { reasoning?: boolean } = {},
  ): ResultRecord[] {
    const rows = this.statement(
      `SELECT r.* FROM results r JOIN problems p USING (run_id, problem_id)
         WHERE r.run_id = ? AND (? IS NULL OR r.problem_id = ?) AND (? IS NULL OR r.config = ?)
         ORDER BY p.position, r.rowid`,
    ).all(
      runId,
      filter.problemId ?? null,
      filter.problemId ?? null,
      filter.config ?? null,
      filter.config ?? null,
    ) as ResultRow[];
    const draw = this.statement(
      options.reasoning
        ? "SELECT text, tokens, finish_reason, reasoning, reasoning_tokens FROM draws WHERE id = ?"
        : "SELECT text, tokens, finish_reason, NULL AS reasoning, NULL AS reasoning_tokens FROM draws WHERE id = ?",
    );
    const drawOf = (id: number): DrawText =>
      (draw.get(id) as DrawText | undefined) ?? {
        text: "",
        tokens: 0,
        finish_reason: "aborted",
        reasoning: null,
        reasoning_tokens: null,
      };
    return rows.map((row) => {
      const record: ResultRecord = {
        problemId: row.problem_id,
        config: row.config,
        strategy: row.strategy,
        series: row.series,
        budget: row.budget,
        options: JSON.parse(row.options) as Record<string, unknown>,
        correct: row.correct === 1,
        stopReason: row.stop_reason,
        usage: JSON.parse(row.usage) as Usage,
        candidates: (JSON.parse(row.candidates) as StoredForm[]).map((form): StoredCandidate => {
          if (!Array.isArray(form) && !("draw" in form)) return form;
          const c = candidateAnswer(form);
          const d = drawOf(c.draw!);
          return { ...c, text: d.text, tokens: d.tokens, finishReason: d.finish_reason, ...thinkingOf(d) };
        }),
        trace: traceOf(row.trace, drawOf),
      };
      if (row.answer !== null) record.answer = row.answer;
      if (row.detail !== null) record.detail = JSON.parse(row.detail) as Record<string, unknown>;
      return record;
    });
  }

  /** Every result of a run without texts or traces, by problem position then storing order. */
  facts(runId: string): ResultFacts[] {
    const rows = this.statement(
      `SELECT r.problem_id, r.config, r.strategy, r.series, r.budget, r.answer, r.correct, r.stop_reason,
           r.usage, json_array_length(r.candidates) AS samples
         FROM results r JOIN problems p USING (run_id, problem_id)
         WHERE r.run_id = ? ORDER BY p.position, r.rowid`,
    ).all(runId) as (Omit<ResultRow, "options" | "candidates" | "trace" | "detail"> & { samples: number })[];
    return rows.map((row) => ({
      problemId: row.problem_id,
      config: row.config,
      strategy: row.strategy,
      series: row.series,
      budget: row.budget,
      ...(row.answer === null ? {} : { answer: row.answer }),
      correct: row.correct === 1,
      stopReason: row.stop_reason,
      usage: JSON.parse(row.usage) as Usage,
      samples: row.samples,
    }));
  }

  /** The answers and scores of one result's candidates, in order, without their texts. */
  candidateAnswers(runId: string, problemId: string, config: string): CandidateAnswer[] | undefined {
    const row = this.statement(
      "SELECT candidates FROM results WHERE run_id = ? AND problem_id = ? AND config = ?",
    ).get(runId, problemId, config) as { candidates: string } | undefined;
    return row && answersOf(row.candidates);
  }

  /** The answers and scores of the candidates of every result of one problem, by configuration. */
  candidateAnswersOfProblem(runId: string, problemId: string): Map<string, CandidateAnswer[]> {
    const rows = this.statement(
      "SELECT config, candidates FROM results WHERE run_id = ? AND problem_id = ?",
    ).all(runId, problemId) as { config: string; candidates: string }[];
    return new Map(rows.map((row) => [row.config, answersOf(row.candidates)]));
  }

  /** `problemId \u0000 config` of every stored result: what a resumed run skips. */
  keys(runId: string): Set<string> {
    const rows = this.statement("SELECT problem_id, config FROM results WHERE run_id = ?").all(runId) as {
      problem_id: string;
      config: string;
    }[];
    return new Set(rows.map((r) => resultKey(r.problem_id, r.config)));
  }

  count(runId: string): number {
    return (this.statement("SELECT COUNT(*) AS n FROM results WHERE run_id = ?").get(runId) as { n: number })
      .n;
  }

  /** Stored results judged correct. */
  correctCount(runId: string): number {
    return (
      this.statement("SELECT COUNT(*) AS n FROM results WHERE run_id = ? AND correct = 1").get(runId) as {
        n: number;
      }
    ).n;
  }
}

export const resultKey = (problemId: string, config: string): string => `${problemId}\u0000${config}`;
