/** The `draws` table: every sample drawn in a run, keyed by problem, request digest and index. */
import type Database from "better-sqlite3";
import type { Completion, FinishReason, TokenLogprob, Usage } from "../core/types.js";

export interface DrawRecord {
  problemId: string;
  digest: string;
  index: number;
  completion: Completion;
  /** This sample's share of its call's usage. */
  usage: Usage;
}

interface DrawRow {
  problem_id: string;
  digest: string;
  sample_index: number;
  text: string;
  tokens: number;
  finish_reason: FinishReason;
  stop_sequence: string | null;
  logprobs: string | null;
  usage: string;
}

function toDraw(row: DrawRow): DrawRecord {
  const completion: Completion = { text: row.text, finishReason: row.finish_reason, tokens: row.tokens };
  if (row.stop_sequence !== null) completion.stopSequence = row.stop_sequence;
  if (row.logprobs !== null) completion.logprobs = JSON.parse(row.logprobs) as TokenLogprob[];
  return {
    problemId: row.problem_id,
    digest: row.digest,
    index: row.sample_index,
    completion,
    usage: JSON.parse(row.usage) as Usage,
  };
}

export class DrawTable {
  constructor(private readonly db: Database.Database) {}

  /** Stored draws of one request among indices [from, from + count), by index. */
  find(
    runId: string,
    problemId: string,
    digest: string,
    from: number,
    count: number,
  ): Map<number, DrawRecord> {
    const rows = this.db
      .prepare(
        `SELECT * FROM draws WHERE run_id = ? AND problem_id = ? AND digest = ?
         AND sample_index >= ? AND sample_index < ? ORDER BY sample_index`,
      )
      .all(runId, problemId, digest, from, from + count) as DrawRow[];
    return new Map(rows.map((row) => [row.sample_index, toDraw(row)]));
  }

  /**
   * Writes the draws of one backend response in one transaction: all of them or, if the
   * process dies, none. An index already stored is an error, never a second copy.
   */
  add(runId: string, draws: readonly DrawRecord[]): void {
    const insert = this.db.prepare(
      `INSERT INTO draws (run_id, problem_id, digest, sample_index, text, tokens, finish_reason,
         stop_sequence, logprobs, usage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const createdAt = new Date().toISOString();
    this.db.transaction(() => {
      for (const d of draws)
        insert.run(
          runId,
          d.problemId,
          d.digest,
          d.index,
          d.completion.text,
          d.completion.tokens,
          d.completion.finishReason,
          d.completion.stopSequence ?? null,
          d.completion.logprobs ? JSON.stringify(d.completion.logprobs) : null,
          JSON.stringify(d.usage),
          createdAt,
        );
    })();
  }

  /** Every draw of a run (or of one problem), by problem position, digest and index. */
  list(runId: string, problemId?: string): DrawRecord[] {
    const rows = (
      problemId === undefined
        ? this.db
            .prepare(
              `SELECT d.* FROM draws d JOIN problems p USING (run_id, problem_id)
               WHERE d.run_id = ? ORDER BY p.position, d.digest, d.sample_index`,
            )
            .all(runId)
        : this.db
            .prepare("SELECT * FROM draws WHERE run_id = ? AND problem_id = ? ORDER BY digest, sample_index")
            .all(runId, problemId)
    ) as DrawRow[];
    return rows.map(toDraw);
  }

  /** Every draw of one request of a problem, in index order. */
  ofRequest(runId: string, problemId: string, digest: string): DrawRecord[] {
    return [...this.find(runId, problemId, digest, 0, Number.MAX_SAFE_INTEGER).values()];
  }

  count(runId: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM draws WHERE run_id = ?").get(runId) as { n: number })
      .n;
  }
}
