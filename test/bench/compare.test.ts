/**
 * Comparing two runs on constructed results in a real SQLite file: the paired difference B − A
 * and its interval, wins and losses, tokens, and what is left out (problems or configurations
 * only one run has) counted and named.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ComparisonError, compareRuns, exactMcNemar, formatComparison } from "../../src/bench/compare.js";
import { emptyUsage } from "../../src/core/types.js";
import { openStore, type RunStore, StoreError } from "../../src/store/sqlite.js";

let dir: string;
let store: RunStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-compare-"));
  store = openStore(join(dir, "runs.sqlite"));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const recipe = (name: string, strategies: unknown[], perLevel = 20) => ({
  name,
  dataset: { name: "arithmetic", levels: [1], perLevel, seed: 1 },
  strategies,
});
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `p${from + i}`);

/**
 * A run with the given problems and, per configuration, which problems it got right and the
 * tokens each answer cost (prompt 10 + `generated`).
 */
function makeRun(
  id: string,
  problems: string[],
  configs: Record<string, { right: Set<string>; generated?: number; answered?: string[] }>,
  options: { status?: "completed" | "running"; recipe?: unknown } = {},
) {
  store.createRun({
    id,
    recipe: options.recipe ?? recipe(id, ["single", { name: "self-consistency", grid: { n: [4] } }]),
    seed: 0,
    problems: problems.map((problemId, position) => ({
      problemId,
      position,
      question: `question ${problemId}`,
      prompt: `prompt ${problemId}`,
      reference: "1",
    })),
  });
  for (const [config, spec] of Object.entries(configs))
    for (const problemId of spec.answered ?? problems)
      store.results.add(id, {
        problemId,
        config,
        strategy: config.split(" ")[0]!,
        series: config.split(" ")[0]!,
        budget: 1,
        options: {},
        answer: spec.right.has(problemId) ? "1" : "2",
        correct: spec.right.has(problemId),
        stopReason: "completed",
        usage: { ...emptyUsage(), promptTokens: 10, completionTokens: spec.generated ?? 5, calls: 1 },
        candidates: [],
        trace: [],
      });
  if ((options.status ?? "completed") === "completed") store.setRunStatus(id, "completed");
}

describe("compareRuns", () => {
  it("gives 0 with an interval holding 0 for two runs with the same answers", () => {
    const problems = ids(0, 20);
    const right = new Set(problems.filter((_, i) => i % 3 !== 0));
    makeRun("a", problems, { single: { right } });
    makeRun("b", problems, { single: { right } });
    const c = compareRuns(store, "a", "b");
    expect(c.configs).toHaveLength(1);
    const row = c.configs[0]!;
    expect(row).toMatchObject({
      config: "single",
      problems: 20,
      difference: 0,
      wins: 0,
      losses: 0,
      pValue: 1,
    });
    expect(row.accuracyA).toBe(row.accuracyB);
    expect(row.ciLow).toBeLessThanOrEqual(0);
    expect(row.ciHigh).toBeGreaterThanOrEqual(0);
    expect(c.warnings).toEqual([]);
    expect(c.method).toMatch(/paired bootstrap over problems/);
  });

  it("gives +k/n when B fixes k problems A got wrong, with wins, tokens and an interval around it", () => {
    const problems = ids(0, 20);
    const rightA = new Set(problems.slice(0, 10));
    const rightB = new Set(problems.slice(0, 13));
    makeRun("a", problems, { single: { right: rightA, generated: 5 } });
    makeRun("b", problems, { single: { right: rightB, generated: 25 } });
    const row = compareRuns(store, "a", "b").configs[0]!;
    expect(row.difference).toBeCloseTo(3 / 20, 12);
    expect(row.accuracyA).toBe(0.5);
    expect(row.accuracyB).toBe(0.65);
    expect(row).toMatchObject({ wins: 3, losses: 0, problems: 20 });
    expect(row.pValue).toBeCloseTo(0.25, 12);
    expect(row.meanTokensA).toBe(15);
    expect(row.meanTokensB).toBe(35);
    expect(row.meanGeneratedTokensB).toBe(25);
    // Every difference is 0 or +1: the interval cannot go below 0, and holds the estimate.
    expect(row.ciLow).toBeGreaterThanOrEqual(0);
    expect(row.ciLow).toBeLessThanOrEqual(row.difference);
    expect(row.ciHigh).toBeGreaterThan(row.difference);
    // Swapped, the difference and the interval change sign; wins become losses.
    const back = compareRuns(store, "b", "a").configs[0]!;
    expect(back.difference).toBeCloseTo(-3 / 20, 12);
    expect(back).toMatchObject({ wins: 0, losses: 3 });
  });

  it("counts wins and losses apart: the difference is (wins − losses) / n", () => {
    const problems = ids(0, 30);
    const rightA = new Set(problems.slice(0, 15));
    // B loses p0..p3 and gains p15..p24.
    const rightB = new Set([...problems.slice(4, 15), ...problems.slice(15, 25)]);
    makeRun("a", problems, { single: { right: rightA } });
    makeRun("b", problems, { single: { right: rightB } });
    const row = compareRuns(store, "a", "b", { seed: 3 }).configs[0]!;
    expect(row).toMatchObject({ wins: 10, losses: 4, problems: 30 });
    expect(row.difference).toBeCloseTo(6 / 30, 12);
    expect(row.pValue).toBeCloseTo(exactMcNemar(10, 4), 12);
    expect(row.ciLow).toBeLessThan(row.difference);
    expect(row.ciHigh).toBeGreaterThan(row.difference);
    // Seeded: the same seed gives the same interval, a wider confidence a wider one.
    expect(compareRuns(store, "a", "b", { seed: 3 }).configs[0]).toEqual(row);
    const wide = compareRuns(store, "a", "b", { seed: 3, confidence: 0.99 }).configs[0]!;
    expect(wide.ciHigh - wide.ciLow).toBeGreaterThan(row.ciHigh - row.ciLow);
  });

  it("leaves out and counts the problems only one run has, and names configurations only one ran", () => {
    makeRun(
      "a",
      ids(0, 20),
      {
        single: { right: new Set(ids(0, 20)) },
        "self-consistency n=4": { right: new Set(ids(0, 20)) },
      },
      { recipe: recipe("a", ["single", { name: "self-consistency", grid: { n: [4] } }], 20) },
    );
    makeRun(
      "b",
      ids(5, 25),
      {
        single: { right: new Set(ids(5, 15)) },
        "best-of-n n=4": { right: new Set() },
      },
      { recipe: recipe("b", ["single", { name: "best-of-n", grid: { n: [4] } }], 25) },
    );
    const c = compareRuns(store, "a", "b");
    expect(c.problems).toEqual({ shared: 15, onlyA: 5, onlyB: 5 });
    expect(c.configs.map((r) => r.config)).toEqual(["single"]);
    const row = c.configs[0]!;
    expect(row.problems).toBe(15);
    expect(row.accuracyA).toBe(1);
    // Of the 15 shared problems p5..p19, B got p5..p14 right.
    expect(row.accuracyB).toBeCloseTo(10 / 15, 12);
    expect(row.difference).toBeCloseTo(-5 / 15, 12);
    expect(row.unpaired).toEqual({ onlyA: 5, onlyB: 5 });
    expect(c.onlyInA).toEqual(["self-consistency n=4"]);
    expect(c.onlyInB).toEqual(["best-of-n n=4"]);
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings.join("\n")).toMatch(
      /datasets differ .*perLevel 20.* against .*perLevel 25.*15 problems/,
    );
    const table = formatComparison(c);
    expect(table).toContain("15 problems in both runs (left out: 5 only in A, 5 only in B)");
    expect(table).toContain("only in A (not compared): self-consistency n=4");
    expect(table).toContain("only in B (not compared): best-of-n n=4");
    expect(table).toMatch(/^single\s+15\s+100\.0\s+66\.7\s+-33\.3 \[-?[\d.]+, -?[\d.]+\]\s+0\s+5\s/m);
  });

  it("compares an unfinished run on what it stored so far, and says so", () => {
    const problems = ids(0, 10);
    makeRun("a", problems, { single: { right: new Set(problems) } });
    makeRun(
      "b",
      problems,
      { single: { right: new Set(problems), answered: problems.slice(0, 6) } },
      {
        status: "running",
      },
    );
    const c = compareRuns(store, "a", "b");
    expect(c.b.status).toBe("running");
    expect(c.warnings).toEqual([
      "run b is not finished (running): the results it stored so far are compared",
    ]);
    expect(c.configs[0]).toMatchObject({ problems: 6, difference: 0, unpaired: { onlyA: 4, onlyB: 0 } });
  });

  it("refuses an unknown run, naming it, and runs that share no problem", () => {
    makeRun("a", ids(0, 5), { single: { right: new Set() } });
    makeRun("b", ids(5, 10), { single: { right: new Set() } });
    expect(() => compareRuns(store, "a", "nope")).toThrow(StoreError);
    expect(() => compareRuns(store, "nope", "a")).toThrow(/no run nope/);
    expect(() => compareRuns(store, "a", "b")).toThrow(ComparisonError);
    expect(() => compareRuns(store, "a", "b")).toThrow(/share no problem/);
  });
});

describe("exactMcNemar", () => {
  it("is the two-sided binomial test on the discordant problems", () => {
    expect(exactMcNemar(0, 0)).toBe(1);
    expect(exactMcNemar(3, 0)).toBeCloseTo(2 / 8, 15);
    // 2 · (C(12,0) + C(12,1) + C(12,2)) / 2^12
    expect(exactMcNemar(10, 2)).toBeCloseTo((2 * (1 + 12 + 66)) / 4096, 15);
    expect(exactMcNemar(2, 10)).toBe(exactMcNemar(10, 2));
    expect(exactMcNemar(5, 5)).toBe(1);
    expect(exactMcNemar(600, 400)).toBeLessThan(1e-9);
    expect(exactMcNemar(600, 400)).toBeGreaterThan(0);
  });
});
