import { accessSync, constants, existsSync, mkdirSync, readFileSync, type Stats, statSync } from "node:fs";
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

export interface OpenStoreOptions {
  /** Create the file when it is missing (default true); readers pass false. */
  create?: boolean;
  /**
   * Open for reading only: nothing is written, not even the schema's migrations, so a
   * database in a read-only folder (or on a read-only disk) can be read. A database opened
   * with `create: false` where it cannot be written is opened so as well.
   */
  readonly?: boolean;
}

/**
 * Opens a reckon database and brings its schema up to date. `create: false` (for commands that
 * only read runs) refuses a missing file instead of silently creating an empty database.
 * Mistakes with the path (a folder, a file that is not SQLite), a damaged file, a full disk
 * and a read-only folder are StoreErrors in one line that say what to do, here and on every
 * statement afterwards.
 */
export function openStore(path: string = defaultDbPath, options: OpenStoreOptions = {}): RunStore {
  const create = options.create ?? true;
  let readonly = options.readonly ?? false;
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
    if (!found && (!create || readonly))
      throw new StoreError(
        `database ${path} does not exist`,
        `\`reckon bench\` creates it; pass another with --db FILE`,
      );
    if (!found) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (error) {
        throw new StoreError(
          `cannot create database ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          "pass --db with a file in a folder you can write to",
        );
      }
    }
    // Reading needs no write access: where the file or its folder cannot be written, a reader
    // opens it read-only rather than failing on SQLite's lock files.
    if (found && !create && !readonly && !writable(path)) readonly = true;
  }
  if (readonly) return openReadOnly(path);
  let db: Database.Database | undefined;
  try {
    db = guardDatabase(new Database(path), path);
    // WAL: readers (`reckon report` while a bench runs) never block the writer, and a killed
    // process loses at most the transaction in flight.
    db.pragma("busy_timeout = 5000");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    // A damaged file is refused before a run is started in it, not halfway through.
    checkIntegrity(db, path);
    migrate(db, migrations);
    return new RunStore(db);
  } catch (error) {
    db?.close();
    throw storeErrorOf(error, path);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A read-only connection. A WAL database whose `-shm` file is gone (it was closed cleanly) and
 * whose folder cannot be written cannot be opened by SQLite itself: its bytes are then read
 * into memory, marked as a rollback-journal database, and read from there.
 */
function openReadOnly(path: string): RunStore {
  let db: Database.Database | undefined;
  try {
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.prepare("SELECT 1 FROM sqlite_master LIMIT 1").all();
    } catch (error) {
      db?.close();
      db = undefined;
      if ((error as { code?: string }).code !== "SQLITE_CANTOPEN" || existsSync(`${path}-wal`)) throw error;
      const bytes = readFileSync(path);
      if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
      db = new Database(bytes, { readonly: true });
    }
    db = guardDatabase(db, path);
    checkIntegrity(db, path);
    checkSchemaReadable(db, path);
    return new RunStore(db);
  } catch (error) {
    db?.close();
    throw storeErrorOf(error, path);
  }
}

/** A database read without migrating must already have this reckon's schema. */
function checkSchemaReadable(db: Database.Database, path: string): void {
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get();
  const version = hasTable
    ? ((db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0)
    : 0;
  if (version > newest)
    throw new StoreError(
      `database schema version ${version} is newer than this reckon knows (${newest})`,
      "upgrade reckon, or pass --db with another file",
    );
  if (version < newest)
    throw new StoreError(
      `database ${path} was written by an older reckon and cannot be upgraded here (it is read-only)`,
      "open it once where it can be written (e.g. `reckon runs` on a writable copy) to upgrade it",
    );
}

/** Files up to this size are checked whole when opened; larger ones by each statement. */
const checkedAtOpenBytes = 256 * 2 ** 20;

function checkIntegrity(db: Database.Database, path: string): void {
  // quick_check reads every page: for a large store, its errors come statement by statement.
  if (path === ":memory:" || fileSize(path) > checkedAtOpenBytes) return;
  const rows = db.pragma("quick_check(1)") as { quick_check: string }[];
  const verdict = rows[0]?.quick_check ?? "ok";
  if (verdict !== "ok") throw damaged(path, verdict);
}

const damaged = (path: string, what: string) =>
  new StoreError(
    `database ${path} is damaged (${what.split("\n")[0]})`,
    `move it aside and start afresh with --db FILE, or try to save its rows with \`sqlite3 ${path} .recover\``,
  );

/**
 * What went wrong with the database, in one line with what to do: SQLite's own codes for a
 * damaged file, a full disk, a read-only file or folder, a lock held too long. Anything else
 * is passed on as it is.
 */
export function storeErrorOf(error: unknown, path: string): unknown {
  if (error instanceof ReckonError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error;
  const message = (error as Error).message;
  if (code === "SQLITE_CORRUPT" || code.startsWith("SQLITE_CORRUPT_") || code === "SQLITE_NOTADB")
    return code === "SQLITE_NOTADB"
      ? new StoreError(
          `cannot open database ${path}: ${message}`,
          "--db names the SQLite file that `reckon bench` writes",
        )
      : damaged(path, message);
  if (code === "SQLITE_FULL" || code === "ENOSPC")
    return new StoreError(
      `the disk holding ${path} is full: ${message}`,
      "free some space, then continue with `reckon bench --resume RUN_ID`",
    );
  if (
    code.startsWith("SQLITE_READONLY") ||
    code === "SQLITE_CANTOPEN" ||
    code === "EROFS" ||
    code === "EACCES"
  )
    return new StoreError(
      `database ${path} cannot be written here (a read-only file, folder or disk): ${message}`,
      "reading commands (runs, report, export) work as they are; to write, pass --db with a file in a writable folder",
    );
  if (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED")
    return new StoreError(
      `database ${path} is locked by another process: ${message}`,
      "wait for it to finish, or pass --db with another file",
    );
  if (code.startsWith("SQLITE_IOERR"))
    return new StoreError(
      `reading or writing ${path} failed (${code}): ${message}`,
      "check the disk (space, errors); then continue with `reckon bench --resume RUN_ID`",
    );
  return error;
}

/**
 * The connection every store method uses: statements, transactions, pragmas and exec whose
 * SQLite errors become StoreErrors (one place, whatever table module runs the statement).
 */
function guardDatabase(db: Database.Database, path: string): Database.Database {
  const guard =
    <F extends (...args: never[]) => unknown>(call: F, self: unknown, back?: unknown) =>
    (...args: Parameters<F>) => {
      try {
        const value = call.apply(self, args);
        return value === self && back !== undefined ? back : value;
      } catch (error) {
        throw storeErrorOf(error, path);
      }
    };
  const wrapStatement = (statement: Database.Statement): Database.Statement => {
    const proxy: Database.Statement = new Proxy(statement, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        return typeof value === "function" ? guard(value as never, target, proxy) : value;
      },
    });
    return proxy;
  };
  const wrapTransaction = (transaction: Record<string, unknown> & ((...args: never[]) => unknown)) => {
    const wrapped = guard(transaction, undefined) as unknown as Record<string, unknown>;
    for (const mode of ["deferred", "immediate", "exclusive"])
      if (typeof transaction[mode] === "function")
        wrapped[mode] = guard(transaction[mode] as never, undefined);
    return wrapped;
  };
  return new Proxy(db, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (key === "prepare")
        return (...args: Parameters<Database.Database["prepare"]>) => {
          try {
            return wrapStatement(target.prepare(...args));
          } catch (error) {
            throw storeErrorOf(error, path);
          }
        };
      if (key === "transaction")
        return (fn: (...args: never[]) => unknown) =>
          wrapTransaction(
            target.transaction(fn) as unknown as Record<string, unknown> & ((...args: never[]) => unknown),
          );
      return guard(value as never, target);
    },
  });
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
      migration.apply?.(db);
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

  /**
   * Deletes runs and everything of theirs (problems, draws, results, metrics, and whatever other
   * table is keyed by `run_id`) in one transaction: every run named, or, on any error, none.
   * Returns the rows removed, per run and table. An unknown id is a StoreError naming it.
   */
  deleteRuns(ids: readonly string[]): { runId: string; rows: Record<string, number> }[] {
    for (const id of ids) this.getRun(id);
    // Tables found rather than listed, so that a table a later migration adds goes too.
    const tables = (
      this.db
        .prepare(
          `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND c.name = 'run_id' AND m.name NOT IN ('runs', 'problems')
             ORDER BY m.name`,
        )
        .all() as { name: string }[]
    ).map((t) => t.name);
    const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
    return this.db.transaction(() =>
      [...new Set(ids)].map((runId) => {
        const rows: Record<string, number> = {};
        for (const table of [...tables, "problems"])
          rows[table] = this.db.prepare(`DELETE FROM ${quoted(table)} WHERE run_id = ?`).run(runId).changes;
        this.db.prepare("DELETE FROM runs WHERE id = ?").run(runId);
        return { runId, rows };
      }),
    )();
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
