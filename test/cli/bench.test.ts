/**
 * `reckon bench`, `reckon export` and `reckon runs` as a user runs them, on recorded MATH-500
 * samples: reference solutions (right) and copies with a changed boxed answer (wrong), with
 * rewards that are higher, on average, for the right ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { parseReplayRows, type ReplayRow, writeReplayRows } from "../../src/bench/replay-format.js";
import type { RunSummary } from "../../src/bench/summary.js";
import { mathTask } from "../../src/tasks/math.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { reckon } from "../support/cli.js";

const datasetPath = "../shared/datasets/math500-test.jsonl";
const limit = 40;
let dir: string;
let replayPath: string;
let rows: ReplayRow[];
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-bench-cli-"));
  replayPath = join(dir, "math500.jsonl");
  db = join(dir, "runs.sqlite");
  const problems = await loadDataset({ name: "math500", path: datasetPath, limit });
  rows = makeMathReplayRows(problems, { samples: 8, seed: 4 });
  writeFileSync(replayPath, writeReplayRows(rows));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const common = (backend: string) => [
  "--dataset",
  "math500",
  "--dataset-path",
  datasetPath,
  "--limit",
  String(limit),
  "--task",
  "math",
  "--backend",
  backend,
  "--n",
  "1,2,4,8",
  "--seed",
  "1",
  "--db",
  db,
  "--json",
];

async function bench(args: string[]): Promise<RunSummary> {
  const run = await reckon(["bench", ...args]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as RunSummary;
}

const at = (summary: RunSummary, strategy: string, n: number) =>
  summary.strategies[strategy]!.find((r) => r.n === n)!;

describe("reckon bench on a replayed MATH-500 run", () => {
  let voting: RunSummary;

  it("reports self-consistency at every budget, with the sample accuracy at n=1", async () => {
    voting = await bench([...common(`replay:${replayPath}`), "--strategy", "self-consistency"]);
    expect(voting.problems).toBe(limit);
    expect(voting.samples).toBe(limit * 8);
    expect(voting.completionTokens).toBeGreaterThan(0);
    expect(voting.strategies["self-consistency"]!.map((r) => r.n)).toEqual([1, 2, 4, 8]);

    // n=1 is the fraction of right samples, graded here independently of the bench.
    const perProblem = rows.map(
      (row) =>
        row.samples.filter((s) => {
          const answer = mathTask.extractAnswer(s.text);
          return answer !== undefined && mathTask.isCorrect(answer, row.reference!);
        }).length / row.samples.length,
    );
    const sampleAccuracy = perProblem.reduce((a, b) => a + b, 0) / perProblem.length;
    expect(at(voting, "self-consistency", 1).accuracy).toBeCloseTo(sampleAccuracy, 10);
    expect(at(voting, "oracle", 1).accuracy).toBeCloseTo(sampleAccuracy, 10);
    for (const n of [1, 2, 4, 8]) {
      const r = at(voting, "self-consistency", n);
      expect(r.ciLow).toBeLessThanOrEqual(r.accuracy);
      expect(r.ciHigh).toBeGreaterThanOrEqual(r.accuracy);
      expect(r.meanTokens).toBeGreaterThan(0);
    }
    expect(at(voting, "oracle", 8).accuracy).toBeGreaterThan(at(voting, "oracle", 1).accuracy);
    expect(at(voting, "oracle", 8).accuracy).toBeGreaterThanOrEqual(
      at(voting, "self-consistency", 8).accuracy,
    );
  });

  it("picks better answers with best-of-n and recorded rewards than with one sample", async () => {
    const scored = await bench([
      ...common(`replay:${replayPath}`),
      "--strategy",
      "single,best-of-n,weighted-majority",
      "--scorer",
      "reward",
    ]);
    expect(scored.strategies.single!.map((r) => r.n)).toEqual([1]);
    expect(at(scored, "best-of-n", 8).accuracy).toBeGreaterThan(at(scored, "single", 1).accuracy);
    expect(at(scored, "best-of-n", 8).accuracy).toBeGreaterThan(at(scored, "best-of-n", 1).accuracy);
    expect(at(scored, "weighted-majority", 8).accuracy).toBeGreaterThan(at(scored, "single", 1).accuracy);
    // The same pool whatever the strategies: single equals self-consistency at n=1 of the other run.
    expect(at(scored, "single", 1).accuracy).toBeCloseTo(at(voting, "self-consistency", 1).accuracy, 12);

    // Exported samples replay to the same metrics.
    const exported = join(dir, "exported.jsonl");
    const exportRun = await reckon(["export", scored.runId, "--out", exported, "--db", db]);
    expect(exportRun.code).toBe(0);
    const exportedRows = parseReplayRows(readFileSync(exported, "utf8"));
    expect(exportedRows.map((r) => r.samples.map((s) => [s.text, s.reward]))).toEqual(
      rows.map((r) => r.samples.map((s) => [s.text, s.reward])),
    );
    const replayed = await bench([
      ...common(`replay:${exported}`),
      "--strategy",
      "single,best-of-n,weighted-majority",
      "--scorer",
      "reward",
    ]);
    expect(replayed.strategies).toEqual(scored.strategies);

    const report = await reckon(["report", scored.runId, "--out", join(dir, "report"), "--db", db]);
    expect(report.code).toBe(0);
    expect(readFileSync(join(dir, "report", "index.html"), "utf8")).toContain("<svg");
    const csv = await reckon(["report", scored.runId, "--csv", "--db", db]);
    expect(csv.stdout.split("\n")[0]).toContain("metric");
    expect(csv.stdout).toContain("rm@k");
    const json = await reckon(["report", scored.runId, "--json", "--db", db]);
    expect(JSON.parse(json.stdout)).toEqual(scored);

    const listed = await reckon(["runs", "--db", db, "--json"]);
    expect(JSON.parse(listed.stdout).map((r: { runId: string }) => r.runId)).toEqual(
      expect.arrayContaining([voting.runId, scored.runId, replayed.runId]),
    );
  });

  it("names the field of a bad flag or recipe and exits 2", async () => {
    const badRecipe = join(dir, "bad.yaml");
    writeFileSync(
      badRecipe,
      "dataset: { name: math500 }\nstrategies:\n  - single\n  - { name: self-consistency, n: [0] }\n",
    );
    const run = await reckon(["bench", badRecipe, "--db", db]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("recipe.strategies[1].n");
    const noScorer = await reckon(["bench", ...common(`replay:${replayPath}`), "--strategy", "best-of-n"]);
    expect(noScorer.code).toBe(2);
    expect(noScorer.stderr).toContain("recipe.strategies[0].scorer");
  });
});
