/**
 * Schema changes, applied in order and recorded in `schema_migrations`. Never edit a shipped
 * migration: append a new one so that existing databases upgrade in place.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
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
];
