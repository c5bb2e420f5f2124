import type Database from "better-sqlite3";
import { compactResultRow } from "./results.js";

/**
 * Schema changes, applied in order and recorded in `schema_migrations`. Never edit a shipped
 * migration: append a new one so that existing databases upgrade in place.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Data changes SQL cannot express, run after `sql` in the same transaction. */
  apply?(db: Database.Database): void;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "runs, problems, samples, metrics",
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        recipe TEXT NOT NULL,
        seed INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'aborted')),
        backend TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );

      CREATE TABLE problems (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        problem_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        prompt TEXT NOT NULL,
        reference TEXT NOT NULL,
        level INTEGER,
        subject TEXT,
        PRIMARY KEY (run_id, problem_id)
      );

      -- One row per drawn sample; the key makes a duplicate impossible, even across resumes.
      CREATE TABLE samples (
        run_id TEXT NOT NULL,
        problem_id TEXT NOT NULL,
        sample_index INTEGER NOT NULL CHECK (sample_index >= 0),
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        finish_reason TEXT NOT NULL,
        answer TEXT,
        answer_key TEXT,
        correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
        score REAL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, problem_id, sample_index),
        FOREIGN KEY (run_id, problem_id) REFERENCES problems(run_id, problem_id) ON DELETE CASCADE
      );

      -- Accuracy per strategy and budget (level NULL = all problems), recomputed when a run ends.
      CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        strategy TEXT NOT NULL,
        metric TEXT NOT NULL,
        k INTEGER NOT NULL,
        level INTEGER,
        value REAL NOT NULL,
        ci_low REAL NOT NULL,
        ci_high REAL NOT NULL,
        mean_tokens REAL NOT NULL,
        problems INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX metrics_row ON metrics (run_id, strategy, k, IFNULL(level, -1));
    `,
  },
  {
    version: 2,
    name: "draws shared by strategies, one result per problem and strategy config, run heartbeats",
    sql: `
      -- Every sample drawn, keyed by what was asked (digest) and its index among such draws:
      -- strategies and budgets that ask the same thing share it, and a resumed run never redraws it.
      CREATE TABLE draws (
        run_id TEXT NOT NULL,
        problem_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        sample_index INTEGER NOT NULL CHECK (sample_index >= 0),
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        finish_reason TEXT NOT NULL,
        stop_sequence TEXT,
        logprobs TEXT,
        -- This sample's share of its call's usage (JSON), metered again whenever it is served.
        usage TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, problem_id, digest, sample_index),
        FOREIGN KEY (run_id, problem_id) REFERENCES problems(run_id, problem_id) ON DELETE CASCADE
      );

      -- What one strategy configuration answered for one problem, and what it spent.
      CREATE TABLE results (
        run_id TEXT NOT NULL,
        problem_id TEXT NOT NULL,
        config TEXT NOT NULL,
        strategy TEXT NOT NULL,
        series TEXT NOT NULL,
        budget REAL NOT NULL,
        options TEXT NOT NULL,
        answer TEXT,
        correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
        stop_reason TEXT NOT NULL,
        usage TEXT NOT NULL,
        candidates TEXT NOT NULL,
        trace TEXT NOT NULL,
        detail TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, problem_id, config),
        FOREIGN KEY (run_id, problem_id) REFERENCES problems(run_id, problem_id) ON DELETE CASCADE
      );

      ALTER TABLE problems ADD COLUMN meta TEXT;
      ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
      ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
      ALTER TABLE metrics ADD COLUMN series TEXT;
      ALTER TABLE metrics ADD COLUMN mean_total_tokens REAL;
      DROP INDEX metrics_row;
      CREATE UNIQUE INDEX metrics_row ON metrics (run_id, strategy, metric, k, IFNULL(level, -1));
    `,
  },
  {
    version: 3,
    name: "draws with ids; results reference draws instead of copying their text",
    sql: `
      -- An explicit integer key: results reference draws by it, and VACUUM keeps it.
      CREATE TABLE draws_by_id (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        problem_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        sample_index INTEGER NOT NULL CHECK (sample_index >= 0),
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        finish_reason TEXT NOT NULL,
        stop_sequence TEXT,
        logprobs TEXT,
        usage TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (run_id, problem_id, digest, sample_index),
        FOREIGN KEY (run_id, problem_id) REFERENCES problems(run_id, problem_id) ON DELETE CASCADE
      );
      INSERT INTO draws_by_id (id, run_id, problem_id, digest, sample_index, text, tokens, finish_reason,
        stop_sequence, logprobs, usage, created_at)
        SELECT rowid, run_id, problem_id, digest, sample_index, text, tokens, finish_reason,
          stop_sequence, logprobs, usage, created_at FROM draws;
      DROP TABLE draws;
      ALTER TABLE draws_by_id RENAME TO draws;
    `,
    apply: referenceDrawsInResults,
  },
  {
    version: 4,
    name: "draws keep a reasoning model's thinking and its token count",
    sql: `
      -- NULL: the sample did not think (or was drawn before the thinking was kept).
      ALTER TABLE draws ADD COLUMN reasoning TEXT;
      ALTER TABLE draws ADD COLUMN reasoning_tokens INTEGER;
    `,
  },
];

/**
 * Rewrites stored results so that candidates and trace events whose text is one of the
 * problem's draws name that draw instead of holding a copy of its text.
 */
function referenceDrawsInResults(db: Database.Database): void {
  const problems = db.prepare("SELECT DISTINCT run_id, problem_id FROM results").all() as {
    run_id: string;
    problem_id: string;
  }[];
  const drawsOf = db.prepare(
    "SELECT id, text, tokens, finish_reason FROM draws WHERE run_id = ? AND problem_id = ? ORDER BY id",
  );
  const resultsOf = db.prepare(
    "SELECT rowid, candidates, trace FROM results WHERE run_id = ? AND problem_id = ?",
  );
  const update = db.prepare("UPDATE results SET candidates = ?, trace = ? WHERE rowid = ?");
  for (const { run_id, problem_id } of problems) {
    const byText = new Map<string, { id: number; tokens: number; finishReason: string }>();
    for (const d of drawsOf.all(run_id, problem_id) as {
      id: number;
      text: string;
      tokens: number;
      finish_reason: string;
    }[])
      if (!byText.has(d.text))
        byText.set(d.text, { id: d.id, tokens: d.tokens, finishReason: d.finish_reason });
    if (byText.size === 0) continue;
    for (const row of resultsOf.all(run_id, problem_id) as {
      rowid: number;
      candidates: string;
      trace: string;
    }[]) {
      const compact = compactResultRow(row.candidates, row.trace, byText);
      if (compact) update.run(compact.candidates, compact.trace, row.rowid);
    }
  }
}
