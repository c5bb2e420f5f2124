import { describe, expect, it } from "vitest";
import {
  choose,
  crossValidate,
  evaluatePolicy,
  fitPolicy,
  type Policy,
  type PolicyRow,
  parsePolicy,
} from "../../src/control/policy.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { Mulberry32 } from "../../src/core/random.js";
import { emptyUsage } from "../../src/core/types.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";

/**
 * A dev split built by hand: easy problems (even ids) where every sample agrees and every
 * configuration is right, hard ones where the two probe samples disagree and only larger
 * budgets are usually right. Each sample costs 10 tokens.
 */
function devRows(problems = 60, seed = 1): PolicyRow[] {
  const random = new Mulberry32(seed);
  const rows: PolicyRow[] = [];
  const usage = (samples: number) => ({ ...emptyUsage(), completionTokens: 10 * samples, calls: 1 });
  for (let p = 0; p < problems; p++) {
    const easy = p % 2 === 0;
    const id = `q${p}`;
    rows.push({
      problemId: id,
      config: "self-consistency n=2",
      strategy: "self-consistency",
      options: { n: 2 },
      correct: easy || random.next() < 0.3,
      usage: usage(2),
      candidates: easy
        ? [
            { answer: "5", tokens: 10 },
            { answer: "5", tokens: 10 },
          ]
        : [
            { answer: "5", tokens: 10 },
            { answer: "6", tokens: 10 },
          ],
    });
    for (const [n, hardAccuracy] of [
      [4, 0.5],
      [16, 0.9],
    ] as const)
      rows.push({
        problemId: id,
        config: `self-consistency n=${n}`,
        strategy: "self-consistency",
        options: { n },
        correct: easy || random.next() < hardAccuracy,
        usage: usage(n),
        candidates: [],
      });
  }
  return rows;
}

const settings = {
  task: arithmeticTask,
  model: "llamacpp:reckon-tiny",
  probe: "self-consistency n=2",
  bins: 2,
  features: ["agreement"] as const,
};

const accuracyOf = (rows: PolicyRow[], config: string) => {
  const own = rows.filter((r) => r.config === config);
  return own.filter((r) => r.correct).length / own.length;
};

describe("fitting a policy", () => {
  it("answers easy questions with the probe and spends the budget on hard ones", () => {
    const rows = devRows();
    const policy = fitPolicy(rows, {
      ...settings,
      objective: { kind: "match", config: "self-consistency n=16" },
    });
    expect(policy.bins).toHaveLength(2);
    expect(policy.bins[0]!.use).toBe("probe");
    expect(policy.bins[1]!.use).toMatchObject({ config: "self-consistency n=16", options: { n: 16 } });
    expect(policy.objective).toEqual({
      kind: "min-tokens",
      targetAccuracy: accuracyOf(rows, "self-consistency n=16"),
    });
    expect(policy.fittedOn.accuracy).toBeGreaterThanOrEqual(accuracyOf(rows, "self-consistency n=16") - 1e-9);
    // Probe (20) for easy, probe + 16 samples (180) for hard: 100 tokens a question, not 160.
    expect(policy.fittedOn.tokens).toBeCloseTo(100, 6);
    expect(choose(policy, { agreement: 1 }).use).toBe("probe");
    expect(choose(policy, { agreement: 0.5 }).bin).toBe(1);
  });

  it("keeps within a token budget when maximising accuracy", () => {
    const rows = devRows();
    const policy = fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: 50 } });
    expect(policy.fittedOn.tokens).toBeLessThanOrEqual(50);
    // The probe for the easy half and n=4 for the hard one, (20 + 60) / 2 = 40 tokens, only ties
    // n=4 alone (40 tokens, the same answers): the fixed configuration is kept, without a probe.
    expect(policy.probe).toBeNull();
    expect(policy.bins).toHaveLength(1);
    expect(policy.bins[0]!.use).toMatchObject({ config: "self-consistency n=4" });
    expect(choose(policy, {}).use).toMatchObject({ config: "self-consistency n=4" });
    const generous = fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: 1000 } });
    expect(generous.bins[1]!.use).toMatchObject({ config: "self-consistency n=16" });
  });

  it("prefers a fixed configuration that a probe-then-choose policy cannot beat", () => {
    // Every question right at n=4: nothing spends less for as much.
    const rows = devRows().map((r) => (r.config === "self-consistency n=4" ? { ...r, correct: true } : r));
    const policy = fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: 1000 } });
    expect(policy.probe).toBeNull();
    expect(policy.bins[0]!.use).toMatchObject({ config: "self-consistency n=4" });
    expect(policy.fittedOn).toMatchObject({ accuracy: 1, tokens: 40 });
    expect(evaluatePolicy(policy, rows, arithmeticTask)).toMatchObject({ accuracy: 1, tokens: 40 });
  });

  it("counts the probe's draws once when the chosen configuration sees them again", () => {
    // Draw ids: the probe's two samples are the first two of n=16's.
    const rows = devRows().map((r) => {
      const n = r.options.n as number;
      const base = Number(r.problemId.slice(1)) * 100;
      const candidates = Array.from({ length: n }, (_, i) => ({
        answer: r.candidates[i]?.answer ?? "5",
        tokens: 10,
        draw: base + i,
      }));
      return { ...r, candidates };
    });
    const policy = fitPolicy(rows, {
      ...settings,
      objective: { kind: "match", config: "self-consistency n=16" },
    });
    expect(policy.bins[1]!.use).toMatchObject({ config: "self-consistency n=16" });
    // Probe (20) for easy; for hard the probe (20) and 14 more samples (140): 90 a question, not 100.
    expect(policy.fittedOn.tokens).toBeCloseTo(90, 6);
    expect(evaluatePolicy(policy, rows, arithmeticTask).tokens).toBeCloseTo(90, 6);
  });

  it("refuses an objective no policy meets, saying why", () => {
    const rows = devRows();
    expect(() =>
      fitPolicy(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: 10 } }),
    ).toThrow(
      /no policy spends at most 10 tokens per question: the cheapest configuration of the run, self-consistency n=2, spends 20.0/,
    );
    expect(() =>
      fitPolicy(rows, { ...settings, objective: { kind: "min-tokens", targetAccuracy: 1 } }),
    ).toThrow(/no policy reaches 100.0% on the dev split; the most any reaches is/);
  });

  it("reports held-out figures for the policy and the best fixed configuration", () => {
    const rows = devRows(100);
    const held = crossValidate(rows, { ...settings, objective: { kind: "max-accuracy", maxTokens: 120 } }, 5);
    expect(held).toMatchObject({ folds: 5, problems: 100 });
    // Each fold's choice is scored on problems it was not fitted on; the fixed one never costs more than allowed.
    expect(held.fixed.tokens).toBeLessThanOrEqual(120);
    expect(held.policy.accuracy).toBeGreaterThan(0);
    expect(held.policy.accuracy).toBeLessThanOrEqual(1);
  });

  it("says what a run lacks", () => {
    const rows = devRows();
    const only = rows.filter((r) => r.config !== "self-consistency n=4");
    expect(() =>
      fitPolicy(only, { ...settings, objective: { kind: "max-accuracy", maxTokens: 50 } }),
    ).toThrow(
      /covers 1 configuration\(s\) besides the probe \(self-consistency n=16\); a policy needs at least 2/,
    );
    expect(() =>
      fitPolicy(devRows(10), { ...settings, objective: { kind: "max-accuracy", maxTokens: 50 } }),
    ).toThrow(/has 10 problem\(s\) with results for every configuration; fitting needs at least 20/);
    expect(() =>
      fitPolicy(rows, { ...settings, probe: "single", objective: { kind: "max-accuracy", maxTokens: 50 } }),
    ).toThrow(/no results for "single"/);
    expect(() =>
      fitPolicy(rows, { ...settings, objective: { kind: "match", config: "self-consistency n=64" } }),
    ).toThrow(/objective.config/);
  });
});

describe("reading a policy", () => {
  const policy: Policy = fitPolicy(devRows(), {
    ...settings,
    objective: { kind: "match", config: "self-consistency n=16" },
  });
  const json = JSON.parse(JSON.stringify(policy)) as Record<string, unknown>;
  const fieldOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      if (error instanceof InvalidInputError) return error.field;
      throw error;
    }
    return undefined;
  };

  it("accepts its own JSON for the same task, model and strategies", () => {
    expect(
      parsePolicy(json, { task: "arithmetic", model: "llamacpp:reckon-tiny", isRegistered: () => true }),
    ).toEqual(policy);
  });

  it("refuses a malformed policy, naming the field", () => {
    expect(fieldOf(() => parsePolicy({ ...json, bins: "all" }))).toBe("policy.bins");
    expect(
      fieldOf(() => parsePolicy({ ...json, difficulty: { ...(json.difficulty as object), weights: [] } })),
    ).toBe("policy.difficulty.weights");
    expect(fieldOf(() => parsePolicy({ ...json, version: 2 }))).toBe("policy.version");
    expect(fieldOf(() => parsePolicy({ ...json, extra: 1 }))).toBe("policy");
  });

  it("refuses a policy fitted for another task or model, or naming an unknown strategy", () => {
    expect(fieldOf(() => parsePolicy(json, { task: "math" }))).toBe("policy.task");
    expect(fieldOf(() => parsePolicy(json, { model: "openai:gpt-4o-mini" }))).toBe("policy.model");
    expect(fieldOf(() => parsePolicy(json, { isRegistered: (name) => name !== "self-consistency" }))).toBe(
      "policy.probe.strategy",
    );
    const renamed = structuredClone(json) as { bins: { use: unknown }[] };
    renamed.bins[1]!.use = { config: "magic n=4", strategy: "magic", options: {} };
    expect(fieldOf(() => parsePolicy(renamed, { isRegistered: (name) => name !== "magic" }))).toBe(
      "policy.bins[1].use.strategy",
    );
  });
});
