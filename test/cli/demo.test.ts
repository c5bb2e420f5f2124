/** `reckon demo`: the bundled model through node-llama-cpp, every strategy and budget, stored in SQLite. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../src/bench/summary.js";
import { formatDemo } from "../../src/cli/demo.js";
import { openStore } from "../../src/store/sqlite.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { reckon } from "../support/cli.js";

const scratch = mkdtempSync(join(tmpdir(), "reckon-demo-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("reckon demo", () => {
  it("runs every strategy at every budget on the bundled model and keeps every sample", async () => {
    const db = join(scratch, "demo.sqlite");
    const run = await reckon([
      "demo",
      "--levels",
      "1,3,5",
      "--per-level",
      "2",
      "--n",
      "1,2,4",
      "--db",
      db,
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;

    expect(summary.status).toBe("completed");
    expect(summary.problems).toBe(6);
    expect(summary.samples).toBe(6 * 4);
    expect(summary.backend).toMatch(/^llamacpp:/);
    expect(Object.keys(summary.strategies).sort()).toEqual(
      ["best-of-n", "oracle", "self-consistency", "single", "weighted-majority"].sort(),
    );
    for (const name of ["self-consistency", "best-of-n", "weighted-majority", "oracle"])
      expect(summary.strategies[name]!.map((r) => r.n)).toEqual([1, 2, 4]);
    expect(Object.keys(summary.byLevel).sort()).toEqual(["1", "3", "5"]);

    const at = (name: string, n: number) => summary.strategies[name]!.find((r) => r.n === n)!;
    const store = openStore(db);
    try {
      // Strategies and budgets share the draws: the 4 of the largest budget per problem.
      const draws = store.draws.list(summary.runId);
      expect(draws).toHaveLength(24);
      expect(draws.every((d) => d.completion.text.length > 0 && d.completion.tokens > 0)).toBe(true);
      expect(store.results.count(summary.runId)).toBe(6 * (1 + 3 * 3));
      // The verifier's scores are kept with the candidates of the methods that use it.
      const scored = store
        .getResults(summary.runId)
        .filter((r) => r.strategy !== "single" && r.strategy !== "self-consistency");
      expect(scored).toHaveLength(6 * 2 * 3);
      expect(
        scored.every(
          (r) => r.candidates.length === r.budget && r.candidates.every((c) => typeof c.score === "number"),
        ),
      ).toBe(true);

      // Graded here, from the stored draws, independently of the bench.
      const reference = new Map(store.getProblems(summary.runId).map((p) => [p.problemId, p.reference]));
      const right = (d: (typeof draws)[number]) => {
        const answer = arithmeticTask.extractAnswer(d.completion.text);
        return answer !== undefined && arithmeticTask.isCorrect(answer, reference.get(d.problemId)!) ? 1 : 0;
      };
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // Every strategy here asked for whole solutions: one request per problem, four draws.
      const pools = [...reference.keys()].map((id) => store.draws.list(summary.runId, id));
      expect(pools.map((pool) => pool.map((d) => d.index))).toEqual(Array(6).fill([0, 1, 2, 3]));
      const firstDraw = mean(pools.map((pool) => right(pool[0]!)));
      const sampleAccuracy = mean(draws.map(right));

      // At n=1 every method runs on the same first draw; the oracle and the pool estimates
      // average every draw.
      for (const name of ["single", "self-consistency", "best-of-n", "weighted-majority"])
        expect(at(name, 1).accuracy, name).toBeCloseTo(firstDraw, 10);
      expect(at("oracle", 1).accuracy).toBeCloseTo(sampleAccuracy, 10);
      for (const name of ["self-consistency", "best-of-n", "weighted-majority"])
        expect(at(name, 1).poolEstimate!.value, name).toBeCloseTo(sampleAccuracy, 10);
    } finally {
      store.close();
    }
    // Nothing beats the oracle (some sample right): neither the expectation over subsets at any
    // n, nor a real run on the whole pool.
    for (const name of ["self-consistency", "best-of-n", "weighted-majority"]) {
      for (const row of summary.strategies[name]!)
        expect(row.poolEstimate!.value).toBeLessThanOrEqual(at("oracle", row.n).accuracy + 1e-9);
      expect(at(name, 4).accuracy).toBeLessThanOrEqual(at("oracle", 4).accuracy + 1e-9);
    }
    // Generated tokens grow with n; the total counts the prompts too.
    const tokens = summary.strategies["self-consistency"]!.map((r) => r.meanTokens);
    expect(tokens[2]!).toBeGreaterThan(tokens[0]!);
    for (const rows of Object.values(summary.strategies))
      for (const r of rows) expect(r.meanTotalTokens!).toBeGreaterThan(r.meanTokens);

    const table = formatDemo(summary, db);
    expect(table).toMatch(
      /^self-consistency +\d+\.\d% \(\d+\/\d+\) +\d+\.\d% \(\d+\/\d+\) +\d+\.\d% \(\d+\/\d+\)$/m,
    );
    expect(table).toMatch(/^5 +\d+\.\d%/m);
    expect(table).toContain(`reckon report ${summary.runId} --db ${db}`);
  });
});
