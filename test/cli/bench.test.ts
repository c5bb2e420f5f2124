/**
 * `reckon bench`, `reckon export` and `reckon runs` as a user runs them, on recorded MATH-500
 * samples: reference solutions (right) and copies with a changed boxed answer (wrong), with
 * rewards that are higher, on average, for the right ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateTokens } from "../../src/backends/replay.js";
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

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const isRight = (row: ReplayRow, answer: string | undefined) =>
  answer !== undefined && mathTask.isCorrect(answer, row.reference!);

/**
 * What each method answers from a problem's first k recorded samples (the draws a run with n=k
 * gets), computed here independently of the bench: answers grouped by the task's equivalence,
 * ties going to the earliest sample.
 */
function choose(row: ReplayRow, k: number, method: "vote" | "reward" | "weighted"): string | undefined {
  const samples = row.samples
    .slice(0, k)
    .map((s) => ({ answer: mathTask.extractAnswer(s.text), reward: s.reward! }));
  if (method === "reward") {
    let best: (typeof samples)[number] | undefined;
    for (const s of samples) if (s.answer !== undefined && (!best || s.reward > best.reward)) best = s;
    return best?.answer;
  }
  const groups: { answer: string; weight: number }[] = [];
  for (const s of samples) {
    if (s.answer === undefined) continue;
    const weight = method === "vote" ? 1 : s.reward;
    const group = groups.find((g) => mathTask.equivalent(g.answer, s.answer!));
    if (group) group.weight += weight;
    else groups.push({ answer: s.answer, weight });
  }
  let top: (typeof groups)[number] | undefined;
  for (const g of groups) if (!top || g.weight > top.weight) top = g;
  return top?.answer;
}

/** Accuracy over the problems of a method at n=k, and the generated tokens of k samples. */
const accuracyOf = (k: number, method: "vote" | "reward" | "weighted") =>
  mean(rows.map((row) => (isRight(row, choose(row, k, method)) ? 1 : 0)));
const tokensOf = (k: number) =>
  mean(rows.map((row) => row.samples.slice(0, k).reduce((sum, s) => sum + estimateTokens(s.text), 0)));

describe("reckon bench on a replayed MATH-500 run", () => {
  let voting: RunSummary;

  it("reports self-consistency at every budget: the real run at each n, its pool estimate and the oracle", async () => {
    voting = await bench([...common(`replay:${replayPath}`), "--strategy", "self-consistency"]);
    expect(voting.status).toBe("completed");
    expect(voting.problems).toBe(limit);
    // Draws are shared by the budgets: n=8 reuses the 4 of n=4, and so on.
    expect(voting.samples).toBe(limit * 8);
    expect(voting.completionTokens).toBeCloseTo(limit * tokensOf(8), 6);
    expect(Object.keys(voting.strategies).sort()).toEqual(["oracle", "self-consistency"]);
    expect(voting.strategies["self-consistency"]!.map((r) => [r.config, r.n])).toEqual([
      ["self-consistency n=1", 1],
      ["self-consistency n=2", 2],
      ["self-consistency n=4", 4],
      ["self-consistency n=8", 8],
    ]);

    // The fraction of right samples, graded here independently of the bench.
    const sampleAccuracy = mean(
      rows.map((row) => mean(row.samples.map((s) => (isRight(row, mathTask.extractAnswer(s.text)) ? 1 : 0)))),
    );
    expect(at(voting, "oracle", 1).accuracy).toBeCloseTo(sampleAccuracy, 10);
    for (const n of [1, 2, 4, 8]) {
      const r = at(voting, "self-consistency", n);
      // Each budget is a real run on the first n draws.
      expect(r.accuracy, `n=${n}`).toBeCloseTo(accuracyOf(n, "vote"), 10);
      expect(r.problems).toBe(limit);
      expect(r.ciLow).toBeLessThanOrEqual(r.accuracy);
      expect(r.ciHigh).toBeGreaterThanOrEqual(r.accuracy);
      expect(r.meanTokens).toBeCloseTo(tokensOf(n), 10);
      // Prompts count too.
      expect(r.meanTotalTokens!).toBeGreaterThan(r.meanTokens);
      // The pool estimate: majority over every n-subset of the 8 draws of n=8.
      expect(r.poolEstimate?.metric).toBe("maj@k");
      expect(r.poolEstimate!.ciLow).toBeLessThanOrEqual(r.poolEstimate!.value);
      expect(r.poolEstimate!.ciHigh).toBeGreaterThanOrEqual(r.poolEstimate!.value);
      expect(r.poolEstimate!.value).toBeLessThanOrEqual(at(voting, "oracle", n).accuracy + 1e-12);
      expect(at(voting, "oracle", n).poolEstimate).toBeUndefined();
    }
    // One sample from the pool at a time is the sample accuracy; all 8 of them is the real run at n=8.
    expect(at(voting, "self-consistency", 1).poolEstimate!.value).toBeCloseTo(sampleAccuracy, 10);
    expect(at(voting, "self-consistency", 8).poolEstimate!.value).toBeCloseTo(
      at(voting, "self-consistency", 8).accuracy,
      10,
    );
    expect(at(voting, "oracle", 8).accuracy).toBeGreaterThan(at(voting, "oracle", 1).accuracy);
    expect(at(voting, "oracle", 8).accuracy).toBeGreaterThanOrEqual(
      at(voting, "self-consistency", 8).accuracy,
    );
    // The largest budget against the run's first configuration, on the same problems.
    expect(voting.comparisons).toHaveLength(1);
    const [comparison] = voting.comparisons;
    expect(comparison).toMatchObject({
      a: "self-consistency n=8",
      b: "self-consistency n=1",
      problems: limit,
    });
    expect(comparison!.difference).toBeCloseTo(accuracyOf(8, "vote") - accuracyOf(1, "vote"), 10);
    expect(comparison!.ciLow).toBeLessThanOrEqual(comparison!.difference);
    expect(comparison!.ciHigh).toBeGreaterThanOrEqual(comparison!.difference);
  });

  it("picks better answers with best-of-n and recorded rewards than with one sample", async () => {
    const scored = await bench([
      ...common(`replay:${replayPath}`),
      "--strategy",
      "single,best-of-n,weighted-majority",
      "--verifier",
      "reward",
    ]);
    expect(scored.strategies.single!.map((r) => [r.config, r.n])).toEqual([["single", 1]]);
    // Every configuration is a real run on the first n draws, scored with the recorded rewards.
    expect(at(scored, "single", 1).accuracy).toBeCloseTo(accuracyOf(1, "vote"), 10);
    for (const n of [1, 2, 4, 8]) {
      expect(at(scored, "best-of-n", n).accuracy, `n=${n}`).toBeCloseTo(accuracyOf(n, "reward"), 10);
      expect(at(scored, "weighted-majority", n).accuracy, `n=${n}`).toBeCloseTo(
        accuracyOf(n, "weighted"),
        10,
      );
      expect(at(scored, "best-of-n", n).poolEstimate?.metric).toBe("rm@k");
      expect(at(scored, "weighted-majority", n).poolEstimate?.metric).toBe("wmaj@k");
    }
    expect(scored.comparisons.map((c) => [c.a, c.b])).toEqual([
      ["best-of-n n=8", "single"],
      ["weighted-majority n=8", "single"],
    ]);
    expect(at(scored, "best-of-n", 8).accuracy).toBeGreaterThan(at(scored, "single", 1).accuracy);
    expect(at(scored, "best-of-n", 8).accuracy).toBeGreaterThan(at(scored, "best-of-n", 1).accuracy);
    expect(at(scored, "weighted-majority", 8).accuracy).toBeGreaterThan(at(scored, "single", 1).accuracy);
    // The same draws whatever the strategies: single equals self-consistency at n=1 of the other run.
    expect(at(scored, "single", 1).accuracy).toBeCloseTo(at(voting, "self-consistency", 1).accuracy, 12);
    expect(scored.samples).toBe(limit * 8);

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
      "--verifier",
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
      "dataset: { name: math500 }\nstrategies:\n  - single\n  - { name: self-consistency, grid: { n: [2, 0] } }\n",
    );
    const run = await reckon(["bench", badRecipe, "--db", db]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("recipe.strategies[1].options.n");
    const noVerifier = await reckon(["bench", ...common(`replay:${replayPath}`), "--strategy", "best-of-n"]);
    expect(noVerifier.code).toBe(2);
    expect(noVerifier.stderr).toContain("recipe.strategies[0].verifier");
  });
});
