/**
 * `reckon runs rm`: a removed run is gone from the list and from every table, the other runs
 * keep every row; an unknown id or a run a live process works on removes nothing; `reckon runs`
 * still lists as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { openStore } from "../../src/store/sqlite.js";
import { reckon } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-runs-rm-"));
const db = join(dir, "runs.sqlite");
const replay = join(dir, "samples.jsonl");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tables = ["runs", "problems", "draws", "results", "metrics"] as const;

/** Rows of each run in every table, counted in the database itself. */
function rowsOf(runId: string): Record<string, number> {
  const store = openStore(db, { create: false });
  try {
    return Object.fromEntries(
      tables.map((table) => [
        table,
        (
          store.db
            .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${table === "runs" ? "id" : "run_id"} = ?`)
            .get(runId) as { n: number }
        ).n,
      ]),
    );
  } finally {
    store.close();
  }
}

const listed = async () => {
  const run = await reckon(["runs", "--db", db, "--json"]);
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as { runId: string }[]).map((r) => r.runId).sort();
};

beforeAll(async () => {
  writeFileSync(
    replay,
    writeReplayRows(
      ["a", "b", "c"].map((id, p) => ({
        id,
        prompt: `Question ${id}: what is ${p + 1} + 1?`,
        reference: String(p + 2),
        samples: Array.from({ length: 4 }, (_, i) => ({
          text: `So the answer is \\boxed{${p + 2 + (i % 2)}}.`,
        })),
      })),
    ),
  );
  for (const runId of ["keep", "drop", "busy"]) {
    const run = await reckon([
      "bench",
      "--backend",
      `replay:${replay}`,
      "--task",
      "math",
      "--strategy",
      "self-consistency",
      "--n",
      "1,4",
      "--db",
      db,
      "--run-id",
      runId,
      "--json",
    ]);
    expect(run.code).toBe(0);
  }
}, 120_000);

describe("reckon runs rm", () => {
  it("removes a run and all its rows, and leaves the other runs whole", async () => {
    const keep = rowsOf("keep");
    expect(rowsOf("drop")).toEqual(keep);
    for (const table of tables) expect(keep[table]).toBeGreaterThan(0);

    const run = await reckon(["runs", "rm", "drop", "--db", db]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `removed run drop (${keep.results} results, ${keep.draws} draws, ${keep.problems} problems)\n`,
    );
    expect(rowsOf("drop")).toEqual({ runs: 0, problems: 0, draws: 0, results: 0, metrics: 0 });
    expect(rowsOf("keep")).toEqual(keep);
    expect(await listed()).toEqual(["busy", "keep"]);
    // The table form of the list is unchanged too.
    const table = await reckon(["runs", "--db", db]);
    expect(table.stdout.split("\n")[0]).toMatch(
      /^run\s+status\s+dataset\s+samples\s+created\s+name \/ note$/,
    );
    expect(table.stdout).not.toContain("drop");
    const report = await reckon(["report", "keep", "--db", db, "--json"]);
    expect(report.code).toBe(0);
  });

  it("refuses an unknown id, naming it, and then removes none of the runs named", async () => {
    const run = await reckon(["runs", "rm", "keep", "nope", "--db", db]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no run nope in this database");
    expect(await listed()).toEqual(["busy", "keep"]);
  });

  it("refuses a run a live process works on unless --force", async () => {
    // This test process stands for a bench that is running it: a live pid, a fresh heartbeat.
    const store = openStore(db);
    try {
      store.setRunStatus("busy", "running");
      store.heartbeat("busy", process.pid);
    } finally {
      store.close();
    }
    const refused = await reckon(["runs", "rm", "busy", "--db", db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`run busy is in use by process ${process.pid}: nothing was removed`);
    expect(refused.stderr).toContain("--force");
    expect(rowsOf("busy").results).toBeGreaterThan(0);

    const forced = await reckon(["runs", "rm", "busy", "--force", "--db", db]);
    expect(forced.code).toBe(0);
    expect(rowsOf("busy")).toEqual({ runs: 0, problems: 0, draws: 0, results: 0, metrics: 0 });
    expect(await listed()).toEqual(["keep"]);
  });
});
