import { mkdirSync, type Stats, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ReckonError } from "../core/errors.js";
import { DrawTable } from "./draws.js";
import { type Migration, migrations } from "./migrations.js";
import { type ResultRecord, ResultTable } from "./results.js";

export type { DrawRecord } from "./draws.js";
export type { ResultRecord, StoredCandidate } from "./results.js";

export const defaultDbPath = ".reckon/reckon.sqlite";

export type RunStatus = "running" | "completed" | "failed" | "aborted";

export interface RunRecord {
  id: string;
  /** The validated recipe, exactly as the run used it. */
  recipe: unknown;
  seed: number;
  status: RunStatus;
  backend?: string;
  error?: string;
  createdAt: string;
  finishedAt?: string;
  /** Last sign of life of the process running it, and that process. */
  heartbeatAt?: string;
  ownerPid?: number;
}

export interface ProblemRecord {
  problemId: string;
  /** Order in the dataset; runs report and resume in this order. */
  position: number;
  question: string;
  /** The prompt as sent: plain text, or JSON of the chat messages. */
  prompt: string;
  reference: string;
  level?: number;
  subject?: string;
  /** What the task needs beyond the prompt (e.g. a code problem's tests), as stored. */
  meta?: Record<string, unknown>;
}

export interface MetricRecord {
  /** The strategy configuration (e.g. "self-consistency n=8"), or "oracle". */
  strategy: string;
  /** The chart line it belongs to (e.g. "self-consistency"). */
  series?: string;
  metric: string;
  k: number;
  level?: number;
  value: number;
  ciLow: number;
  ciHigh: number;
  /** Generated (completion) tokens per problem. */
  meanTokens: number;
  /** Everything spent per problem: prompt, completion and verifier tokens. */
  meanTotalTokens?: number;
  problems: number;
}

export class StoreError extends ReckonError {}

/**
 * Opens a reckon database and brings its schema up to date. `create: false` (for commands that
 * only read runs) refuses a missing file instead of silently creating an empty database.
 * Mistakes with the path (a folder, a file that is not SQLite) are StoreErrors naming it.
 */
export function openStore(path: string = defaultDbPath, options: { create?: boolean } = {}): RunStore {
  const create = options.create ?? true;
  if (path !== ":memory:") {
    let found: Stats | undefined;
    try {
      found = statSync(path);
    } catch (error) {
      // ENOTDIR (a file where a folder should be) is as absent as ENOENT: reported below.
      if (!["ENOENT", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? ""))
        throw new StoreError(`cannot open database ${path}: ${(error as Error).message}`);
    }
    if (found?.isDirectory())
      throw new StoreError(`${path} is a folder, not a database`, "pass the database file with --db FILE");
    if (!found && !create)
      throw new StoreError(
        `database ${path} does not exist`,
        `\`reckon bench\` creates it; pass another with --db FILE`,
      );
    if (!found) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (error) {
        throw new StoreError(`cannot create database ${path}: ${(error as Error).message}`);
      }
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    // WAL: readers (`reckon report` while a bench runs) never block the writer, and a killed
    // process loses at most the transaction in flight.
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, migrations);
    return new RunStore(db);
  } catch (error) {
    db?.close();
    if (error instanceof ReckonError) throw error;
    throw new StoreError(
      `cannot open database ${path}: ${(error as Error).message}`,
      "--db names the SQLite file that `reckon bench` writes",
    );
  }
}

/**
 * Applies the missing migrations. The check and the changes share one immediate transaction,
 * so two processes opening a new database at once (a bench and a report) do not both migrate.
 */
export function migrate(db: Database.Database, all: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  db.transaction(() => {
    const applied = new Set(
      (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    const newest = Math.max(0, ...all.map((m) => m.version));
    const unknown = [...applied].filter((v) => v > newest);
    if (unknown.length > 0)
      throw new StoreError(
        `database schema version ${Math.max(...unknown)} is newer than this reckon knows (${newest})`,
        "upgrade reckon, or pass --db with another file",
      );
    for (const migration of [...all].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    }
  }).immediate();
}

interface RunRow {
  id: string;
  recipe: string;
  seed: number;
  status: RunStatus;
  backend: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  heartbeat_at: string | null;
  owner_pid: number | null;
}

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Runs, their problems, every sample and the resulting metrics. All writes are synchronous. */
export class RunStore {
  readonly draws: DrawTable;
  readonly results: ResultTable;

  constructor(readonly db: Database.Database) {
    this.draws = new DrawTable(db);
    this.results = new ResultTable(db);
  }

  getResults(runId: string, filter?: { problemId?: string; config?: string }): ResultRecord[] {
    return this.results.list(runId, filter);
  }

  close(): void {
    this.db.close();
  }

  schemaVersion(): number {
    const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number };
    return row.v;
  }

  /** Records a new run together with its problems, atomically: a run never lacks its problems. */
  createRun(run: {
    id: string;
    recipe: unknown;
    seed: number;
    backend?: string;
    problems?: readonly ProblemRecord[];
  }): RunRecord {
    const createdAt = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO runs (id, recipe, seed, status, backend, created_at) VALUES (?, ?, ?, 'running', ?, ?)",
        )
        .run(run.id, JSON.stringify(run.recipe), run.seed, run.backend ?? null, createdAt);
      if (run.problems) this.addProblems(run.id, run.problems);
    })();
    return this.getRun(run.id);
  }

  findRun(id: string): RunRecord | undefined {
    const row = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  getRun(id: string): RunRecord {
    const run = this.findRun(id);
    if (!run) throw new StoreError(`no run ${id} in this database`, "list runs with `reckon runs`");
    return run;
  }

  listRuns(): RunRecord[] {
    const rows = this.db.prepare("SELECT * FROM runs ORDER BY created_at DESC, id").all() as RunRow[];
    return rows.map(toRun);
  }

  setRunStatus(id: string, status: RunStatus, error?: string): void {
    const finishedAt = status === "running" ? null : new Date().toISOString();
    this.db
      .prepare("UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?")
      .run(status, error ?? null, finishedAt, id);
  }

  /** Records problems of a run; ones already recorded are left as they are. */
  addProblems(runId: string, problems: readonly ProblemRecord[]): void {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO problems (run_id, problem_id, position, question, prompt, reference, level, subject, meta)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const p of problems)
        insert.run(
          runId,
          p.problemId,
          p.position,
          p.question,
          p.prompt,
          p.reference,
          p.level ?? null,
          p.subject ?? null,
          p.meta === undefined ? null : JSON.stringify(p.meta),
        );
    })();
  }

  getProblems(runId: string): ProblemRecord[] {
    const rows = this.db.prepare("SELECT * FROM problems WHERE run_id = ? ORDER BY position").all(runId) as {
      problem_id: string;
      position: number;
      question: string;
      prompt: string;
      reference: string;
      level: number | null;
      subject: string | null;
      meta: string | null;
    }[];
    return rows.map((r) => ({
      ...(r.meta === null ? {} : { meta: JSON.parse(r.meta) as Record<string, unknown> }),
      problemId: r.problem_id,
      position: r.position,
      question: r.question,
      prompt: r.prompt,
      reference: r.reference,
      level: orUndefined(r.level),
      subject: orUndefined(r.subject),
    }));
  }

  /** Marks the run as worked on by this process now; a stale heartbeat means it was killed. */
  heartbeat(id: string, pid: number = process.pid): void {
    this.db
      .prepare("UPDATE runs SET heartbeat_at = ?, owner_pid = ? WHERE id = ?")
      .run(new Date().toISOString(), pid, id);
  }

  /** Replaces the run's metrics as a whole, so a recomputation never leaves a mix. */
  replaceMetrics(runId: string, rows: readonly MetricRecord[]): void {
    const insert = this.db.prepare(
      `INSERT INTO metrics (run_id, strategy, series, metric, k, level, value, ci_low, ci_high, mean_tokens,
         mean_total_tokens, problems) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM metrics WHERE run_id = ?").run(runId);
      for (const m of rows)
        insert.run(
          runId,
          m.strategy,
          m.series ?? null,
          m.metric,
          m.k,
          m.level ?? null,
          m.value,
          m.ciLow,
          m.ciHigh,
          m.meanTokens,
          m.meanTotalTokens ?? null,
          m.problems,
        );
    })();
  }

  getMetrics(runId: string): MetricRecord[] {
    const rows = this.db.prepare("SELECT * FROM metrics WHERE run_id = ? ORDER BY rowid").all(runId) as {
      strategy: string;
      metric: string;
      k: number;
      level: number | null;
      value: number;
      ci_low: number;
      ci_high: number;
      mean_tokens: number;
      mean_total_tokens: number | null;
      series: string | null;
      problems: number;
    }[];
    return rows.map((r) => ({
      strategy: r.strategy,
      ...(r.series === null ? {} : { series: r.series }),
      ...(r.mean_total_tokens === null ? {} : { meanTotalTokens: r.mean_total_tokens }),
      metric: r.metric,
      k: r.k,
      level: orUndefined(r.level),
      value: r.value,
      ciLow: r.ci_low,
      ciHigh: r.ci_high,
      meanTokens: r.mean_tokens,
      problems: r.problems,
    }));
  }
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    recipe: JSON.parse(row.recipe),
    seed: row.seed,
    status: row.status,
    backend: orUndefined(row.backend),
    error: orUndefined(row.error),
    createdAt: row.created_at,
    finishedAt: orUndefined(row.finished_at),
    heartbeatAt: orUndefined(row.heartbeat_at),
    ownerPid: orUndefined(row.owner_pid),
  };
}
