/** The `draws` table: every sample drawn in a run, keyed by problem, request digest and index. */
import type Database from "better-sqlite3";
import type { Completion, FinishReason, TokenLogprob, Usage } from "../core/types.js";
import { statementCache } from "./statements.js";

export interface DrawRecord {
  /** The draw's id in the store (set once stored): what results reference it by. */
  id?: number;
  problemId: string;
  digest: string;
  index: number;
  completion: Completion;
  /** This sample's share of its call's usage. */
  usage: Usage;
}

interface DrawRow {
  id: number;
  problem_id: string;
  digest: string;
  sample_index: number;
  text: string;
  tokens: number;
  finish_reason: FinishReason;
  stop_sequence: string | null;
  logprobs: string | null;
  usage: string;
  /** NULL when the sample did not think, and in rows stored before thinking was kept. */
  reasoning: string | null;
  reasoning_tokens: number | null;
}

/** The completion a row holds: its answer, and its thinking when it thought. */
function completionOf(
  row: Pick<
    DrawRow,
    "text" | "tokens" | "finish_reason" | "stop_sequence" | "reasoning" | "reasoning_tokens"
  >,
): Completion {
  const completion: Completion = { text: row.text, finishReason: row.finish_reason, tokens: row.tokens };
  if (row.reasoning !== null) completion.reasoning = row.reasoning;
  if (row.stop_sequence !== null) completion.stopSequence = row.stop_sequence;
  if (row.reasoning_tokens !== null) completion.reasoningTokens = row.reasoning_tokens;
  return completion;
}

function toDraw(row: DrawRow): DrawRecord {
  const completion = completionOf(row);
  if (row.logprobs !== null) completion.logprobs = JSON.parse(row.logprobs) as TokenLogprob[];
  return {
    id: row.id,
    problemId: row.problem_id,
    digest: row.digest,
    index: row.sample_index,
    completion,
    usage: JSON.parse(row.usage) as Usage,
  };
}

export class DrawTable {
  private readonly statement: (sql: string) => Database.Statement;
  constructor(private readonly db: Database.Database) {
    this.statement = statementCache(db);
  }

  /**
   * The draws of the requests used most recently, each request whole: the configurations of a
   * problem ask for the same request again and again (n=1, 2, 4, … 64), and reading it once
   * instead of each time is most of a large replayed run's store time. Only the process running
   * a run writes its draws (the heartbeat sees to it), so what is kept here stays true.
   */
  private readonly recent = new Map<string, Map<number, DrawRecord>>();
  private static readonly recentRequests = 32;

  private request(runId: string, problemId: string, digest: string): Map<number, DrawRecord> {
    const key = `${runId}\u0000${problemId}\u0000${digest}`;
    let draws = this.recent.get(key);
    if (draws) this.recent.delete(key);
    else {
      const rows = this.statement(
        "SELECT * FROM draws WHERE run_id = ? AND problem_id = ? AND digest = ? ORDER BY sample_index",
      ).all(runId, problemId, digest) as DrawRow[];
      draws = new Map(rows.map((row) => [row.sample_index, toDraw(row)]));
      if (this.recent.size >= DrawTable.recentRequests) this.recent.delete(this.recent.keys().next().value!);
    }
    this.recent.set(key, draws);
    return draws;
  }

  /** Stored draws of one request among indices [from, from + count), by index. */
  find(
    runId: string,
    problemId: string,
    digest: string,
    from: number,
    count: number,
  ): Map<number, DrawRecord> {
    const found = new Map<number, DrawRecord>();
    const all = this.request(runId, problemId, digest);
    if (all.size === 0) return found;
    const indices = [...all.keys()].filter((i) => i >= from && i < from + count).sort((a, b) => a - b);
    for (const index of indices) found.set(index, all.get(index)!);
    return found;
  }

  /**
   * Writes the draws of one backend response in one transaction: all of them or, if the
   * process dies, none. An index already stored is an error, never a second copy.
   */
  add(runId: string, draws: readonly DrawRecord[]): void {
    const insert = this.statement(
      `INSERT INTO draws (run_id, problem_id, digest, sample_index, text, tokens, finish_reason,
         stop_sequence, logprobs, usage, created_at, reasoning, reasoning_tokens)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const createdAt = new Date().toISOString();
    this.db.transaction(() => {
      for (const d of draws)
        d.id = Number(
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
            d.completion.reasoning ?? null,
            d.completion.reasoningTokens ?? null,
          ).lastInsertRowid,
        );
    })();
    for (const d of draws) this.recent.get(`${runId}\u0000${d.problemId}\u0000${d.digest}`)?.set(d.index, d);
  }

  /**
   * One request's draws in index order without their texts: id, completion tokens and the
   * whole prompt of the call that drew each (prefix-cached tokens included, as the sample cache
   * charges it).
   */
  pool(
    runId: string,
    problemId: string,
    digest: string,
  ): { id: number; tokens: number; promptTokens: number }[] {
    const rows = this.statement(
      `SELECT id, tokens,
         json_extract(usage, '$.promptTokens') + IFNULL(json_extract(usage, '$.cachedPromptTokens'), 0) AS prompt
       FROM draws WHERE run_id = ? AND problem_id = ? AND digest = ? ORDER BY sample_index`,
    ).all(runId, problemId, digest) as { id: number; tokens: number; prompt: number | null }[];
    return rows.map((r) => ({ id: r.id, tokens: r.tokens, promptTokens: r.prompt ?? 0 }));
  }

  /**
   * The text, tokens and finish reason of draws by id (what a result's candidates reference),
   * without their thinking, which can be most of a draw.
   */
  completions(ids: Iterable<number>): Map<number, Completion> {
    const get = this.statement(
      `SELECT id, text, tokens, finish_reason, stop_sequence, NULL AS reasoning, reasoning_tokens
         FROM draws WHERE id = ?`,
    );
    const found = new Map<number, Completion>();
    for (const id of ids) {
      if (found.has(id)) continue;
      const row = get.get(id) as DrawRow | undefined;
      if (row) found.set(id, completionOf(row));
    }
    return found;
  }

  /** Draws and completion tokens of a run, counted in the database. */
  totals(runId: string): { draws: number; completionTokens: number } {
    const row = this.statement(
      "SELECT COUNT(*) AS n, COALESCE(SUM(tokens), 0) AS tokens FROM draws WHERE run_id = ?",
    ).get(runId) as { n: number; tokens: number };
    return { draws: row.n, completionTokens: row.tokens };
  }

  /** Every draw of a run (or of one problem), by problem position, digest and index. */
  list(runId: string, problemId?: string): DrawRecord[] {
    const rows = (
      problemId === undefined
        ? this.statement(
            `SELECT d.* FROM draws d JOIN problems p USING (run_id, problem_id)
               WHERE d.run_id = ? ORDER BY p.position, d.digest, d.sample_index`,
          ).all(runId)
        : this.statement(
            "SELECT * FROM draws WHERE run_id = ? AND problem_id = ? ORDER BY digest, sample_index",
          ).all(runId, problemId)
    ) as DrawRow[];
    return rows.map(toDraw);
  }

  /** Every draw of one request of a problem, in index order. */
  ofRequest(runId: string, problemId: string, digest: string): DrawRecord[] {
    return [...this.find(runId, problemId, digest, 0, Number.MAX_SAFE_INTEGER).values()];
  }

  count(runId: string): number {
    return (this.statement("SELECT COUNT(*) AS n FROM draws WHERE run_id = ?").get(runId) as { n: number }).n;
  }
}
