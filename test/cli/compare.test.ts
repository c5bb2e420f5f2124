/**
 * `reckon compare RUN_A RUN_B` on two real bench runs (replay recordings of a weaker and a
 * stronger "model" on the same problems): paired differences with intervals per configuration
 * both ran, the same figures as JSON, configurations only one run has named, clear refusals;
 * and `reckon report RUN_B --against RUN_A` with the comparison in the HTML report.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/bench/datasets.js";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { openStore } from "../../src/store/sqlite.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { reckon } from "../support/cli.js";

let dir: string;
let db: string;
const datasetPath = "../shared/datasets/math500-test.jsonl";

/** A bench run of the first 12 MATH-500 problems on a replay recording. */
async function bench(runId: string, replay: string, strategies: string[]) {
  const run = await reckon([
    "bench",
    "--dataset",
    "math500",
    "--dataset-path",
    datasetPath,
    "--limit",
    "12",
    "--backend",
    `replay:${replay}`,
    "--strategy",
    strategies.join(","),
    "--verifier",
    "reward",
    "--n",
    "1,4",
    "--db",
    db,
    "--run-id",
    runId,
    "--json",
  ]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-compare-cli-"));
  db = join(dir, "runs.sqlite");
  const problems = await loadDataset({ name: "math500", path: datasetPath, limit: 12 });
  const recording = (name: string, correctFraction: number, seed: number) => {
    const path = join(dir, name);
    writeFileSync(path, writeReplayRows(makeMathReplayRows(problems, { samples: 8, seed, correctFraction })));
    return path;
  };
  await bench("old", recording("old.jsonl", 0.35, 1), ["self-consistency"]);
  await bench("new", recording("new.jsonl", 0.85, 2), ["self-consistency", "best-of-n"]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each configuration's accuracy as `reckon report --json` states it. */
async function accuracies(runId: string): Promise<Map<string, number>> {
  const report = await reckon(["report", runId, "--db", db, "--json"]);
  expect(report.code).toBe(0);
  const summary = JSON.parse(report.stdout) as {
    strategies: Record<string, { config: string; accuracy: number }[]>;
  };
  return new Map(
    Object.values(summary.strategies)
      .flat()
      .map((r) => [r.config, r.accuracy]),
  );
}

describe("reckon compare", () => {
  it("prints the paired difference with its interval per configuration both runs ran", async () => {
    const run = await reckon(["compare", "old", "new", "--db", db]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("A old: completed, math500");
    expect(run.stdout).toContain("B new: completed, math500");
    expect(run.stdout).toContain("12 problems in both runs\n");
    expect(run.stdout).toContain("95% CI: paired bootstrap over problems (2000 resamples, seed 0");
    for (const config of ["self-consistency n=1", "self-consistency n=4"])
      expect(run.stdout).toMatch(
        new RegExp(
          `^${config}\\s+12\\s+[\\d.]+\\s+[\\d.]+\\s+[+-]?[\\d.]+ \\[[+-]?[\\d.]+, [+-]?[\\d.]+\\]\\s+\\d+\\s+\\d+\\s+[\\d.<]+\\s+\\d+\\s+\\d+$`,
          "m",
        ),
      );
    expect(run.stdout).toContain("only in B (not compared): best-of-n n=1, best-of-n n=4");
  });

  it("gives the same figures as JSON, matching each run's own accuracies", async () => {
    const run = await reckon(["compare", "old", "new", "--db", db, "--json", "--seed", "7"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const c = JSON.parse(run.stdout);
    expect(c).toMatchObject({
      a: { runId: "old", status: "completed", problems: 12 },
      b: { runId: "new", status: "completed", problems: 12 },
      confidence: 0.95,
      seed: 7,
      problems: { shared: 12, onlyA: 0, onlyB: 0 },
      onlyInA: [],
      onlyInB: ["best-of-n n=1", "best-of-n n=4"],
      warnings: [],
    });
    expect(c.method).toMatch(/^paired bootstrap over problems/);
    expect(c.configs.map((r: { config: string }) => r.config)).toEqual([
      "self-consistency n=1",
      "self-consistency n=4",
    ]);
    const [old, fresh] = [await accuracies("old"), await accuracies("new")];
    for (const r of c.configs) {
      expect(Object.keys(r).sort()).toEqual(
        [
          "accuracyA",
          "accuracyB",
          "ciHigh",
          "ciLow",
          "config",
          "difference",
          "losses",
          "meanGeneratedTokensA",
          "meanGeneratedTokensB",
          "meanTokensA",
          "meanTokensB",
          "pValue",
          "problems",
          "unpaired",
          "wins",
        ].sort(),
      );
      expect(r.problems).toBe(12);
      expect(r.accuracyA).toBeCloseTo(old.get(r.config)!, 12);
      expect(r.accuracyB).toBeCloseTo(fresh.get(r.config)!, 12);
      expect(r.difference).toBeCloseTo(r.accuracyB - r.accuracyA, 12);
      expect(r.difference).toBeCloseTo((r.wins - r.losses) / 12, 12);
      expect(r.ciLow).toBeLessThanOrEqual(r.difference);
      expect(r.ciHigh).toBeGreaterThanOrEqual(r.difference);
      expect(r.meanTokensA).toBeGreaterThan(r.meanGeneratedTokensA);
    }
    // The stronger recording wins at n=4 more often than it loses.
    const top = c.configs[1];
    expect(top.wins).toBeGreaterThan(top.losses);
  });

  it("refuses an unknown run naming it, and a bad flag naming the flag", async () => {
    const unknown = await reckon(["compare", "old", "newer", "--db", db]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no run newer in this database");
    const flag = await reckon(["compare", "old", "new", "--db", db, "--confidence", "95"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("invalid flag --confidence");
  });

  it("compares an unfinished run on what it stored, and warns on stderr with --json", async () => {
    // A copy of "old" that lost its last results and never finished: as a killed run leaves it.
    const store = openStore(db);
    try {
      const old = store.getRun("old");
      store.createRun({ id: "cut", recipe: old.recipe, seed: old.seed, problems: store.getProblems("old") });
      for (const r of store.getResults("old").slice(0, 20)) store.results.add("cut", r);
    } finally {
      store.close();
    }
    const run = await reckon(["compare", "cut", "new", "--db", db, "--json"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      "reckon: warning: run cut is not finished (interrupted): the results it stored so far are compared\n",
    );
    const c = JSON.parse(run.stdout);
    expect(c.a.status).toBe("interrupted");
    const paired = c.configs.reduce((sum: number, r: { problems: number }) => sum + r.problems, 0);
    expect(paired).toBe(20);
  });
});

describe("reckon report --against", () => {
  it("adds the comparison to the HTML report and the printed summary", async () => {
    const out = join(dir, "report");
    const run = await reckon(["report", "new", "--against", "old", "--db", db, "--out", out]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("compared with run old:");
    expect(run.stdout).toMatch(/^self-consistency n=4\s+12\s/m);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain('<section id="comparison">');
    expect(html).toContain("<h2>Against run old</h2>");
    const section = html.slice(html.indexOf('<section id="comparison">'));
    const rows = section.slice(0, section.indexOf("</section>")).match(/<tr><td>[^<]+<\/td>/g);
    expect(rows).toEqual(["<tr><td>self-consistency n=1</td>", "<tr><td>self-consistency n=4</td>"]);
    expect(section).toContain("Only in B (not compared): best-of-n n=1, best-of-n n=4");

    const json = await reckon(["report", "new", "--against", "old", "--db", db, "--json"]);
    expect(JSON.parse(json.stdout).against.configs).toHaveLength(2);
    const unknown = await reckon(["report", "new", "--against", "nope", "--db", db, "--json"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no run nope in this database");
  });
});
