import { describe, expect, it } from "vitest";
import { bootstrapMeanInterval } from "../../src/bench/bootstrap.js";
import {
  bestOfKByReward,
  combinations,
  majorityAtK,
  passAtK,
  type SampleOutcome,
  weightedMajorityAtK,
} from "../../src/bench/estimators.js";
import { computeMetrics, type ProblemSamples } from "../../src/bench/metrics.js";
import { seededRandom } from "../../src/core/random.js";

// Oracles: enumerate every k-subset and average the outcome of the selection rule, breaking
// ties by averaging over the tied choices (= uniform random tie-breaking).
function allSubsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...tail] = items;
  return [...allSubsets(tail, k - 1).map((s) => [head!, ...s]), ...allSubsets(tail, k)];
}

function voteOracle(subset: SampleOutcome[], weight: (s: SampleOutcome) => number): number {
  const sums = new Map<string, number>();
  const correct = new Map<string, boolean>();
  for (const s of subset) {
    if (s.answerKey === undefined) continue;
    sums.set(s.answerKey, (sums.get(s.answerKey) ?? 0) + weight(s));
    correct.set(s.answerKey, s.correct);
  }
  if (sums.size === 0) return 0;
  const best = Math.max(...sums.values());
  const tied = [...sums].filter(([, v]) => v === best).map(([key]) => key);
  return tied.filter((key) => correct.get(key)).length / tied.length;
}

function topRewardOracle(subset: SampleOutcome[]): number {
  const best = Math.max(...subset.map((s) => s.reward!));
  const tied = subset.filter((s) => s.reward === best);
  return tied.filter((s) => s.correct).length / tied.length;
}

function expectation(
  samples: SampleOutcome[],
  k: number,
  outcome: (subset: SampleOutcome[]) => number,
): number {
  const subsets = allSubsets(samples, k);
  return subsets.reduce((sum, s) => sum + outcome(s), 0) / subsets.length;
}

/** Random pools with few answer classes (so ties happen), some unanswered, rewards on a coarse grid. */
function randomPool(seed: number, n: number): SampleOutcome[] {
  const random = seededRandom(seed);
  const classes = 1 + Math.floor(random() * 4);
  return Array.from({ length: n }, () => {
    const cls = Math.floor(random() * (classes + 1));
    return {
      correct: cls === 0,
      answerKey: cls === classes ? undefined : `a${cls}`,
      reward: Math.round(random() * 4) / 4,
      tokens: 10 + Math.floor(random() * 90),
    };
  });
}

const s = (answerKey: string | undefined, correct: boolean, reward?: number): SampleOutcome => ({
  answerKey,
  correct,
  reward,
  tokens: 100,
});

describe("pass@k", () => {
  it("matches hand-computed values", () => {
    expect(passAtK(5, 2, 1)).toBeCloseTo(2 / 5, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12);
    expect(passAtK(5, 0, 3)).toBe(0);
    expect(passAtK(5, 3, 3)).toBe(1);
  });

  it("stays finite and accurate where the binomials overflow", () => {
    const value = passAtK(2000, 1, 1000);
    expect(value).toBeCloseTo(0.5, 12);
    expect(Number.isFinite(passAtK(5000, 37, 2500))).toBe(true);
  });

  it("equals the fraction of subsets holding a correct sample", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const pool = randomPool(seed, 7);
      const c = pool.filter((x) => x.correct).length;
      for (let k = 1; k <= 7; k++) {
        const oracle = expectation(pool, k, (sub) => (sub.some((x) => x.correct) ? 1 : 0));
        expect(passAtK(7, c, k)).toBeCloseTo(oracle, 10);
      }
    }
  });
});

describe("maj@k", () => {
  it("matches a hand-computed case with a tie and an unanswered sample", () => {
    // Pool A✓ B B ∅, k=2: {A,B}×2 tie → 1/2 each, {A,∅} → 1, {B,B} → 0, {B,∅}×2 → 0; mean 2/6.
    const pool = [s("A", true), s("B", false), s("B", false), s(undefined, false)];
    expect(majorityAtK(pool, 2, seededRandom(1))).toBeCloseTo(1 / 3, 12);
    expect(majorityAtK(pool, 1, seededRandom(1))).toBeCloseTo(1 / 4, 12);
    expect(majorityAtK(pool, 4, seededRandom(1))).toBe(0);
  });

  it("equals exhaustive enumeration on random pools", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const n = 3 + (seed % 7);
      const pool = randomPool(seed, n);
      for (let k = 1; k <= n; k++) {
        const oracle = expectation(pool, k, (sub) => voteOracle(sub, () => 1));
        expect(majorityAtK(pool, k, seededRandom(seed))).toBeCloseTo(oracle, 10);
      }
    }
  });

  it("is exact for large pools too (agrees with Monte Carlo)", () => {
    const pool = randomPool(99, 64);
    const exact = majorityAtK(pool, 16, seededRandom(1));
    const random = seededRandom(2);
    let sum = 0;
    const draws = 4000;
    for (let d = 0; d < draws; d++) {
      const subset = [...pool];
      for (let i = subset.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [subset[i], subset[j]] = [subset[j]!, subset[i]!];
      }
      sum += voteOracle(subset.slice(0, 16), () => 1);
    }
    expect(Math.abs(exact - sum / draws)).toBeLessThan(0.04);
  });
});

describe("rm@k", () => {
  it("matches a hand-computed case", () => {
    // Rewards 0.9✗ 0.5✓ 0.1✓, k=2: {0.9,0.5}→0, {0.9,0.1}→0, {0.5,0.1}→1.
    const pool = [s("x", false, 0.9), s("y", true, 0.5), s("y", true, 0.1)];
    expect(bestOfKByReward(pool, 2)).toBeCloseTo(1 / 3, 12);
    expect(bestOfKByReward(pool, 1)).toBeCloseTo(2 / 3, 12);
    expect(bestOfKByReward(pool, 3)).toBe(0);
  });

  it("equals exhaustive enumeration, ties in reward broken at random", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const n = 2 + (seed % 8);
      const pool = randomPool(seed, n);
      for (let k = 1; k <= n; k++) {
        expect(bestOfKByReward(pool, k)).toBeCloseTo(expectation(pool, k, topRewardOracle), 10);
      }
    }
  });
});

describe("wmaj@k", () => {
  it("is exact by enumeration when there are few subsets", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const pool = randomPool(seed, 7);
      for (let k = 1; k <= 7; k++) {
        const oracle = expectation(pool, k, (sub) => voteOracle(sub, (x) => x.reward ?? 0));
        expect(weightedMajorityAtK(pool, k, seededRandom(seed), 200)).toBeCloseTo(oracle, 10);
      }
    }
  });

  it("approximates the expectation by seeded Monte Carlo when there are many subsets", () => {
    const pool = randomPool(5, 12);
    const oracle = expectation(pool, 6, (sub) => voteOracle(sub, (x) => x.reward ?? 0));
    const estimate = weightedMajorityAtK(pool, 6, seededRandom(3), 200);
    expect(Math.abs(estimate - oracle)).toBeLessThan(0.12);
    expect(weightedMajorityAtK(pool, 6, seededRandom(3), 200)).toBe(estimate);
  });
});

describe("combinations", () => {
  it("lists every k-subset once", () => {
    const all = [...combinations(6, 3)];
    expect(all).toHaveLength(20);
    expect(new Set(all.map((c) => c.join(","))).size).toBe(20);
  });
});

describe("bootstrapMeanInterval", () => {
  it("brackets the mean and narrows with more problems", () => {
    const random = seededRandom(11);
    const small = Array.from({ length: 20 }, () => (random() < 0.6 ? 1 : 0));
    const large = Array.from({ length: 500 }, () => (random() < 0.6 ? 1 : 0));
    const a = bootstrapMeanInterval(small, { seed: 1 });
    const b = bootstrapMeanInterval(large, { seed: 1 });
    expect(a.low).toBeLessThanOrEqual(a.mean);
    expect(a.high).toBeGreaterThanOrEqual(a.mean);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
    expect(bootstrapMeanInterval([1, 1, 1], { seed: 1 })).toEqual({ mean: 1, low: 1, high: 1 });
  });
});

describe("computeMetrics", () => {
  function problems(withRewards: boolean): ProblemSamples[] {
    return Array.from({ length: 60 }, (_, i) => {
      const pool = randomPool(1000 + i, 8);
      return {
        problemId: `p${i}`,
        level: 1 + (i % 3),
        samples: pool.map((x) => (withRewards ? x : { ...x, reward: undefined })),
      };
    });
  }

  it("emits every metric at every budget, overall and per level, with CIs around the estimate", () => {
    const input = problems(true);
    const rows = computeMetrics(input, { budgets: [1, 2, 4, 8], seed: 42, bootstrapResamples: 500 });
    const overall = rows.filter((r) => r.level === undefined);
    expect(overall.map((r) => `${r.metric}:${r.k}`)).toEqual(
      ["pass@k", "maj@k", "rm@k", "wmaj@k"].flatMap((m) => [1, 2, 4, 8].map((k) => `${m}:${k}`)),
    );
    expect(rows.filter((r) => r.level === 2)).toHaveLength(16);
    for (const row of rows) {
      expect(row.ciLow).toBeLessThanOrEqual(row.value);
      expect(row.ciHigh).toBeGreaterThanOrEqual(row.value);
      expect(row.value).toBeGreaterThanOrEqual(0);
      expect(row.value).toBeLessThanOrEqual(1);
    }
    const pass = overall.filter((r) => r.metric === "pass@k").map((r) => r.value);
    expect(pass).toEqual([...pass].sort((a, b) => a - b));
    // Overall value is the mean of per-problem estimates.
    const maj4 = overall.find((r) => r.metric === "maj@k" && r.k === 4)!;
    const direct =
      input.reduce((sum, p) => sum + majorityAtK(p.samples, 4, seededRandom(0)), 0) / input.length;
    expect(maj4.value).toBeCloseTo(direct, 12);
    expect(maj4.problems).toBe(60);
    // pass@1 = maj@1 = rm@1 = fraction of correct samples.
    const k1 = overall.filter((r) => r.k === 1).map((r) => r.value);
    for (const v of k1) expect(v).toBeCloseTo(k1[0]!, 12);
    const meanTokens =
      input.reduce((sum, p) => sum + p.samples.reduce((a, x) => a + x.tokens, 0) / p.samples.length, 0) / 60;
    expect(maj4.meanTokens).toBeCloseTo(4 * meanTokens, 9);
  });

  it("is deterministic given the seed, and the CIs depend on it", () => {
    const input = problems(true);
    const a = computeMetrics(input, { budgets: [2, 5], seed: 7 });
    const b = computeMetrics(input, { budgets: [2, 5], seed: 7 });
    const c = computeMetrics(input, { budgets: [2, 5], seed: 8 });
    expect(a).toEqual(b);
    expect(a.map((r) => r.ciLow)).not.toEqual(c.map((r) => r.ciLow));
  });

  it("leaves out reward metrics without rewards and budgets beyond the samples, with a note", () => {
    const notes: string[] = [];
    const input = problems(false);
    input[0] = { ...input[0]!, samples: input[0]!.samples.slice(0, 3) };
    const rows = computeMetrics(input, { budgets: [4, 16], seed: 1, onNote: (n) => notes.push(n) });
    expect(new Set(rows.map((r) => r.metric))).toEqual(new Set(["pass@k", "maj@k"]));
    expect(rows.some((r) => r.k === 16)).toBe(false);
    expect(rows.find((r) => r.level === undefined && r.k === 4)!.problems).toBe(59);
    expect(notes.some((n) => n.includes("k=16 skipped"))).toBe(true);
    expect(notes.some((n) => n.includes("uses 59 of 60"))).toBe(true);
  });

  it("rejects bad options naming the field", () => {
    expect(() => computeMetrics([], { budgets: [0], seed: 1 })).toThrow(/budgets\[0\]/);
  });
});
