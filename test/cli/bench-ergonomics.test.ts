/**
 * What a user meets around a bench run: a recording too short for the budgets is refused before
 * any run exists, `reckon runs` has headers, says when there is nothing and why a run failed,
 * and `ask --json` says `"answer": null` when the model gave none.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { openStore } from "../../src/store/sqlite.js";
import { reckon } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-bench-ergonomics-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const replay = join(dir, "short.jsonl");
writeFileSync(
  replay,
  writeReplayRows(
    ["a", "b"].map((id, p) => ({
      id,
      prompt: `Question ${id}: what is ${p + 1} + 1?`,
      reference: String(p + 2),
      samples: Array.from({ length: 4 }, (_, i) => ({
        text: `So the answer is \\boxed{${p + 2 + (i % 2)}}.`,
      })),
    })),
  ),
);

describe("bench ergonomics", () => {
  it("refuses a recording with fewer samples than a configuration draws, before creating the run", async () => {
    const db = join(dir, "short.sqlite");
    const run = await reckon([
      "bench",
      "--backend",
      `replay:${replay}`,
      "--task",
      "math",
      "--strategy",
      "self-consistency",
      "--n",
      "2,8",
      "--db",
      db,
      "--json",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'the recording holds 4 samples for problem a (2 of 2 problems have fewer than 8), but "self-consistency n=8" draws 8',
    );
    expect(run.stderr).toContain("lower the budgets (--n)");
    const store = openStore(db);
    try {
      expect(store.listRuns()).toEqual([]);
    } finally {
      store.close();
    }
    const runs = await reckon(["runs", "--db", db]);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toBe(`no runs in ${db} yet: \`reckon bench\` starts one\n`);
  });

  it("lists runs under column headers, with a failed run's reason and how to continue it", async () => {
    const db = join(dir, "runs.sqlite");
    const ok = await reckon([
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
      "fine",
      "--json",
    ]);
    expect(ok.code).toBe(0);
    const store = openStore(db);
    try {
      store.setRunStatus("fine", "failed", "BackendError: upstream answered 503\n  at somewhere");
    } finally {
      store.close();
    }
    const runs = await reckon(["runs", "--db", db]);
    const [header, row] = runs.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^run\s+status\s+dataset\s+samples\s+created\s+name \/ note$/);
    expect(row).toMatch(
      /^fine\s+failed\s+replay\s+8\s+\S+\s+failed: BackendError: upstream answered 503 at somewhere; continue: reckon bench --resume fine --db /,
    );
    const report = await reckon(["report", "fine", "--db", db, "--out", join(dir, "report")]);
    expect(report.stdout).toContain("failed: BackendError: upstream answered 503");
  });

  it("ask --json says answer null when no answer is found", async () => {
    const none = join(dir, "none.jsonl");
    writeFileSync(
      none,
      writeReplayRows([{ id: "q", prompt: "Say nothing.", samples: [{ text: "I would rather not." }] }]),
    );
    const ask = await reckon([
      "ask",
      "Say nothing.",
      "--raw",
      "--backend",
      `replay:${none}`,
      "--task",
      "math",
      "--strategy",
      "single",
      "--json",
    ]);
    expect(ask.code).toBe(0);
    const parsed = JSON.parse(ask.stdout);
    expect(parsed).toHaveProperty("answer", null);
  });
});
