/** `reckon tune` end to end: a real bench run on the bundled model, a policy fitted from it, applied by `reckon ask`. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePolicy, fitPolicy, type PolicyRow, parsePolicy } from "../../src/control/policy.js";
import { totalTokens } from "../../src/core/types.js";
import { openStore } from "../../src/store/sqlite.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { reckon } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "reckon-tune-"));
const db = join(dir, "runs.sqlite");
let runId: string;

beforeAll(async () => {
  const recipe = join(dir, "dev.yaml");
  writeFileSync(
    recipe,
    [
      "name: tune dev split",
      "dataset: { name: arithmetic, levels: [1, 5], perLevel: 12, seed: 3 }",
      "sampling: { temperature: 1.0, max_tokens: 96 }",
      "strategies:",
      "  - self-consistency",
      "  - name: esc",
      "    options: { windowSize: 4, maxSamples: 12 }",
      "n: [2, 8]",
      "seed: 0",
    ].join("\n"),
  );
  const bench = await reckon(["bench", recipe, "--db", db, "--json"]);
  expect(bench.code, bench.stderr).toBe(0);
  runId = (JSON.parse(bench.stdout) as { runId: string }).runId;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reckon tune", () => {
  it("fits a policy that reckon ask --strategy auto applies", async () => {
    const out = join(dir, "policy.json");
    const tune = await reckon(["tune", runId, "--out", out, "--db", db, "--bins", "2"]);
    expect(tune.code, tune.stderr).toBe(0);
    expect(tune.stdout).toMatch(/fitted on 24 problems/);
    // Held-out figures beside the in-sample ones, and the best fixed configuration to compare with.
    expect(tune.stdout).toMatch(/in-sample: accuracy \d+\.\d%, \d+ tokens per question/);
    expect(tune.stdout).toMatch(/held-out \(5-fold over 24 problems\): accuracy \d+\.\d%/);
    expect(tune.stdout).toMatch(/best fixed configuration for the same objective, held-out: accuracy/);
    const policy = parsePolicy(JSON.parse(readFileSync(out, "utf8")), {
      task: "arithmetic",
      model: "llamacpp:reckon-tiny",
    });
    if (policy.probe) expect(policy.probe.config).toBe("self-consistency n=2");
    expect(policy.fittedOn.configs).toHaveLength(3);
    expect(policy.fittedOn.runId).toBe(runId);

    const ask = await reckon([
      "ask",
      "Q: 12*3+5=?",
      "--strategy",
      "auto",
      "--policy",
      out,
      "--seed",
      "1",
      "--json",
    ]);
    expect(ask.code, ask.stderr).toBe(0);
    const result = JSON.parse(ask.stdout) as { strategy: string; answer: string; detail: { choice: string } };
    expect(result.strategy).toBe("auto");
    expect(result.answer).toBe("41");
    expect(["probe", ...policy.fittedOn.configs]).toContain(result.detail.choice);
  });

  it("never loses to the best fixed configuration of the run within the same mean tokens", () => {
    const store = openStore(db, { create: false });
    let rows: PolicyRow[];
    try {
      rows = store.getResults(runId);
    } finally {
      store.close();
    }
    const configs = [...new Set(rows.map((r) => r.config))];
    expect(configs).toHaveLength(3);
    const fixed = configs.map((config) => {
      const own = rows.filter((r) => r.config === config);
      return {
        config,
        accuracy: own.filter((r) => r.correct).length / own.length,
        tokens: own.reduce((s, r) => s + totalTokens(r.usage), 0) / own.length,
      };
    });
    const settings = {
      task: arithmeticTask,
      model: "llamacpp:reckon-tiny",
      probe: "self-consistency n=2",
      bins: 2,
    };
    const costs = fixed.map((f) => f.tokens).sort((a, b) => a - b);
    const budgets = [
      ...costs,
      ...costs.slice(1).map((c, i) => (c + costs[i]!) / 2),
      costs[costs.length - 1]! * 2,
    ];
    for (const maxTokens of budgets) {
      const policy = fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens } });
      const best = Math.max(...fixed.filter((f) => f.tokens <= maxTokens + 1e-9).map((f) => f.accuracy));
      expect(policy.fittedOn.tokens).toBeLessThanOrEqual(maxTokens + 1e-9);
      expect(policy.fittedOn.accuracy).toBeGreaterThanOrEqual(best - 1e-9);
      // The figures it reports are what it does on the run's rows.
      const scored = evaluatePolicy(policy, rows, arithmeticTask);
      expect(scored.accuracy).toBeCloseTo(policy.fittedOn.accuracy, 9);
      expect(scored.tokens).toBeCloseTo(policy.fittedOn.tokens, 6);
      // Whatever it spends, no fixed configuration within that spend is more accurate.
      for (const f of fixed)
        if (f.tokens <= policy.fittedOn.tokens + 1e-9)
          expect(policy.fittedOn.accuracy).toBeGreaterThanOrEqual(f.accuracy - 1e-9);
    }
    for (const target of fixed) {
      const policy = fitPolicy(rows, { ...settings, objective: { kind: "match", config: target.config } });
      expect(policy.fittedOn.accuracy).toBeGreaterThanOrEqual(target.accuracy - 1e-9);
      expect(policy.fittedOn.tokens).toBeLessThanOrEqual(target.tokens + 1e-9);
    }
    expect(() =>
      fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: costs[0]! / 2 } }),
    ).toThrow(/no policy spends at most .* tokens per question: the cheapest configuration of the run/);
  });

  it("refuses a budget no configuration can keep, with the reason", async () => {
    const tune = await reckon([
      "tune",
      runId,
      "--out",
      join(dir, "tight.json"),
      "--db",
      db,
      "--budget",
      "10",
    ]);
    expect(tune.code).toBe(2);
    expect(tune.stderr).toMatch(/no policy spends at most 10 tokens per question/);
    expect(tune.stderr).toMatch(/allow at least \d+ tokens/);
  });

  it("says what a run lacks, and refuses a policy for another task", async () => {
    const few = await reckon([
      "tune",
      runId,
      "--out",
      join(dir, "x.json"),
      "--db",
      db,
      "--min-problems",
      "50",
    ]);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(
      /has 24 problem\(s\) with results for every configuration; fitting needs at least 50/,
    );
    const out = join(dir, "policy.json");
    const ask = await reckon([
      "ask",
      "What is 2+2?",
      "--task",
      "math",
      "--strategy",
      "auto",
      "--policy",
      out,
    ]);
    expect(ask.code).toBe(2);
    expect(ask.stderr).toMatch(/policy.task: the policy was fitted for task "arithmetic", not "math"/);
  });
});
