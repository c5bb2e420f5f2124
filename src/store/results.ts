/** The `results` table: what each strategy configuration answered for each problem, and what it spent. */
import type Database from "better-sqlite3";
import type { TraceEvent } from "../core/trace.js";
import type { FinishReason, StopReason, Usage } from "../core/types.js";

/** A candidate as kept with a result: enough to show votes and scores, not the logprobs. */
export interface StoredCandidate {
  text: string;
  answer?: string;
  score?: number;
  tokens: number;
  finishReason: FinishReason;
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

function toResult(row: ResultRow): ResultRecord {
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
    candidates: JSON.parse(row.candidates) as StoredCandidate[],
    trace: JSON.parse(row.trace) as TraceEvent[],
  };
  if (row.answer !== null) record.answer = row.answer;
  if (row.detail !== null) record.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return record;
}

export class ResultTable {
  constructor(private readonly db: Database.Database) {}

  add(runId: string, r: ResultRecord): void {
    this.db
      .prepare(
        `INSERT INTO results (run_id, problem_id, config, strategy, series, budget, options, answer, correct,
           stop_reason, usage, candidates, trace, detail, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
        JSON.stringify(r.candidates),
        JSON.stringify(r.trace),
        r.detail === undefined ? null : JSON.stringify(r.detail),
        new Date().toISOString(),
      );
  }

  /** Results by problem position, then in the order they were stored. */
  list(runId: string, filter: { problemId?: string; config?: string } = {}): ResultRecord[] {
    const rows = this.db
      .prepare(
        `SELECT r.* FROM results r JOIN problems p USING (run_id, problem_id)
         WHERE r.run_id = ? AND (? IS NULL OR r.problem_id = ?) AND (? IS NULL OR r.config = ?)
         ORDER BY p.position, r.rowid`,
      )
      .all(
        runId,
        filter.problemId ?? null,
        filter.problemId ?? null,
        filter.config ?? null,
        filter.config ?? null,
      ) as ResultRow[];
    return rows.map(toResult);
  }

  /** `problemId \u0000 config` of every stored result: what a resumed run skips. */
  keys(runId: string): Set<string> {
    const rows = this.db.prepare("SELECT problem_id, config FROM results WHERE run_id = ?").all(runId) as {
      problem_id: string;
      config: string;
    }[];
    return new Set(rows.map((r) => resultKey(r.problem_id, r.config)));
  }

  count(runId: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM results WHERE run_id = ?").get(runId) as { n: number })
      .n;
  }
}

export const resultKey = (problemId: string, config: string): string => `${problemId}\u0000${config}`;
