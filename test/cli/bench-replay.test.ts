/** A replay file is a benchmark by itself: its prompts and references are the problems. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { reckon } from "../support/cli.js";

let dir: string;
let replay: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-bench-replay-"));
  replay = join(dir, "samples.jsonl");
  const problems = await loadDataset({
    name: "math500",
    path: "../shared/datasets/math500-test.jsonl",
    limit: 4,
  });
  writeFileSync(
    replay,
    writeReplayRows(makeMathReplayRows(problems, { samples: 16, seed: 3, correctFraction: 0.9 })),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reckon bench --backend replay:FILE without --dataset", () => {
  it("takes the problems from the replay file", async () => {
    const db = join(dir, "db.sqlite");
    const run = await reckon([
      "bench",
      "--backend",
      `replay:${replay}`,
      "--task",
      "math",
      "--strategy",
      "self-consistency",
      "--n",
      "8",
      "--db",
      db,
      "--json",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.problems).toBe(4);
    expect(summary.samples).toBe(4 * 8);
    expect(summary.strategies["self-consistency"][0]).toMatchObject({
      config: "self-consistency n=8",
      problems: 4,
    });
  });

  it("reports what an early-stopping strategy answered and how many samples it used", async () => {
    const recipe = join(dir, "esc.yaml");
    writeFileSync(
      recipe,
      [
        "task: math",
        "strategies:",
        "  - name: esc",
        "    options: { windowSize: 4, maxSamples: 16 }",
        "  - name: self-consistency",
        "    grid: { n: [16] }",
      ].join("\n"),
    );
    const run = await reckon([
      "bench",
      recipe,
      "--backend",
      `replay:${replay}`,
      "--db",
      join(dir, "esc.sqlite"),
      "--json",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    const esc = summary.strategies.esc[0];
    const fixed = summary.strategies["self-consistency"][0];
    expect(esc).toMatchObject({ config: "esc", problems: 4 });
    // The replay rows are seeded (3 of 4 problems have a right majority): exact figures.
    expect(esc.accuracy).toBe(0.75);
    expect(fixed.accuracy).toBe(0.75);
    expect(esc.meanSamples).toBe(9);
    expect(fixed.meanSamples).toBe(16);
    // Windows of 4, at most 16: it stopped early on some problem, and paid less for it.
    expect(esc.meanSamples).toBeGreaterThanOrEqual(4);
    expect(esc.meanSamples).toBeLessThan(16);
    expect(esc.meanTotalTokens).toBeLessThan(fixed.meanTotalTokens);
    const table = await reckon([
      "report",
      summary.runId,
      "--db",
      join(dir, "esc.sqlite"),
      "--out",
      join(dir, "esc-report"),
    ]);
    expect(table.stdout).toMatch(/esc\s+\d+\.\d \[[\d.]+,[\d.]+\] \(\d+, [\d.]+\)/);
  });

  it("asks for the task, which a replay file does not record", async () => {
    const run = await reckon(["bench", "--backend", `replay:${replay}`, "--db", join(dir, "db2.sqlite")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/task.*replay file needs --task/);
  });
});
