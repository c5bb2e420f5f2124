/** `reckon demo`: the bundled model through node-llama-cpp, every strategy and budget, stored in SQLite. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../src/bench/summary.js";
import { formatDemo } from "../../src/cli/demo.js";
import { openStore } from "../../src/store/sqlite.js";
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

    // At n=1 every method is one sample: all equal the mean sample accuracy.
    const atOne = Object.values(summary.strategies).map((rows) => rows.find((r) => r.n === 1)!.accuracy);
    for (const accuracy of atOne) expect(accuracy).toBeCloseTo(atOne[0]!, 10);
    // Nothing beats the oracle (some sample right), and generated tokens grow with n.
    for (const name of ["self-consistency", "best-of-n"])
      for (const row of summary.strategies[name]!) {
        const oracle = summary.strategies.oracle!.find((r) => r.n === row.n)!;
        expect(row.accuracy).toBeLessThanOrEqual(oracle.accuracy + 1e-9);
      }
    const tokens = summary.strategies["self-consistency"]!.map((r) => r.meanTokens);
    expect(tokens[2]!).toBeGreaterThan(tokens[0]!);

    const store = openStore(db);
    try {
      const samples = store.getSamples(summary.runId);
      expect(samples).toHaveLength(24);
      expect(samples.every((s) => s.text.length > 0 && s.score !== undefined && s.score !== null)).toBe(true);
      const correct = samples.filter((s) => s.correct).length / samples.length;
      expect(correct).toBeCloseTo(atOne[0]!, 10);
    } finally {
      store.close();
    }

    const table = formatDemo(summary, db);
    expect(table).toMatch(/^self-consistency +\d+\.\d% \(\d+\) +\d+\.\d% \(\d+\) +\d+\.\d% \(\d+\)$/m);
    expect(table).toMatch(/^5 +\d+\.\d%/m);
    expect(table).toContain(`reckon report ${summary.runId} --db ${db}`);
  });
});
