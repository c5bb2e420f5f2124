import { describe, expect, it } from "vitest";
import {
  binomial,
  binomialRatio,
  combinations,
  expectedSelection,
  maxEnumeratedSubsets,
  passAtK,
} from "../../src/bench/pool-estimates.js";
import { seededRandom } from "../../src/core/random.js";
import type { Candidate } from "../../src/core/types.js";
import { bestOfN } from "../../src/strategies/best-of-n.js";
import { selfConsistency } from "../../src/strategies/self-consistency.js";
import { weightedMajority } from "../../src/strategies/weighted-majority.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";

// Oracles written independently of the module: every k-subset by recursion, in draw order.
function allSubsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...tail] = items;
  return [...allSubsets(tail, k - 1).map((s) => [head!, ...s]), ...allSubsets(tail, k)];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Pascal's triangle, exact in integers. */
function pascal(rows: number): number[][] {
  const out = [[1]];
  for (let n = 1; n <= rows; n++)
    out.push(Array.from({ length: n + 1 }, (_, k) => (out[n - 1]![k - 1] ?? 0) + (out[n - 1]![k] ?? 0)));
  return out;
}

/** `tokens` carries the draw index, so a selection rule can see the order it was given. */
const candidate = (index: number, answer: string | undefined, score?: number): Candidate => ({
  text: `sample ${index}: ${answer ?? "no answer"}`,
  answer,
  tokens: index,
  finishReason: "eos",
  ...(score === undefined ? {} : { score }),
});

/** Random pools with few answers (so ties happen), some unanswered, scores on a coarse grid. */
function randomPool(seed: number, n: number): Candidate[] {
  const random = seededRandom(seed);
  const answers = 1 + Math.floor(random() * 4);
  return Array.from({ length: n }, (_, i) => {
    const a = Math.floor(random() * (answers + 1));
    return candidate(i, a === answers ? undefined : String(a), Math.round(random() * 4) / 4);
  });
}

const isRight = (answer: string) => answer === "0";
const select = {
  majority: selfConsistency.fromPool!.select,
  topScored: bestOfN.fromPool!.select,
  weighted: weightedMajority.fromPool!.select,
};

describe("binomial", () => {
  it("equals Pascal's triangle and is 0 outside 0..n", () => {
    const triangle = pascal(40);
    for (let n = 0; n <= 40; n++)
      for (let k = 0; k <= n; k++) expect(binomial(n, k), `C(${n},${k})`).toBe(triangle[n]![k]);
    expect(binomial(5, -1)).toBe(0);
    expect(binomial(5, 6)).toBe(0);
    expect(binomial(50, 25)).toBe(126410606437752);
  });

  it("binomialRatio is C(a,k)/C(n,k), finite where the binomials overflow", () => {
    for (const [a, k, n] of [
      [7, 3, 10],
      [10, 3, 10],
      [2, 3, 10],
      [30, 0, 40],
    ] as const)
      expect(binomialRatio(a, k, n)).toBeCloseTo(binomial(a, k) / binomial(n, k), 12);
    expect(binomialRatio(1999, 1000, 2000)).toBeCloseTo(0.5, 12);
  });
});

describe("combinations", () => {
  it("yields every k-subset once, sorted, in lexicographic order", () => {
    for (let n = 1; n <= 8; n++)
      for (let k = 1; k <= n; k++) {
        const subsets = [...combinations(n, k)];
        const indices = Array.from({ length: n }, (_, i) => i);
        expect(subsets).toEqual(allSubsets(indices, k));
        expect(subsets).toHaveLength(binomial(n, k));
      }
    expect([...combinations(4, 0)]).toEqual([[]]);
    expect([...combinations(3, 3)]).toEqual([[0, 1, 2]]);
  });

  it("yields copies, so a caller may sort or keep them", () => {
    const subsets = [...combinations(5, 2)];
    subsets[0]!.push(99);
    expect(subsets[1]).toEqual([0, 2]);
  });
});

describe("pass@k", () => {
  it("matches hand-computed values", () => {
    expect(passAtK(5, 2, 1)).toBeCloseTo(2 / 5, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12);
    expect(passAtK(5, 0, 3)).toBe(0);
    expect(passAtK(5, 3, 3)).toBe(1);
    expect(passAtK(5, 5, 1)).toBe(1);
    expect(() => passAtK(4, 1, 5)).toThrow(RangeError);
  });

  it("is unbiased: equals the fraction of k-subsets holding a correct sample", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const pool = randomPool(seed, 9);
      const correct = pool.map((c) => c.answer !== undefined && isRight(c.answer));
      const c = correct.filter(Boolean).length;
      for (let k = 1; k <= 9; k++) {
        const brute = mean(allSubsets(correct, k).map((subset) => (subset.some(Boolean) ? 1 : 0)));
        expect(passAtK(9, c, k)).toBeCloseTo(brute, 12);
      }
    }
  });

  it("stays finite and accurate where the binomials overflow", () => {
    expect(passAtK(2000, 1, 1000)).toBeCloseTo(0.5, 12);
    const value = passAtK(5000, 37, 2500);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(0.999);
    expect(value).toBeLessThanOrEqual(1);
  });
});

describe("expectedSelection", () => {
  const exact = (pool: Candidate[], k: number, rule: typeof select.majority) =>
    expectedSelection(pool, k, rule, arithmeticTask, isRight, seededRandom(1));

  it("matches hand-computed cases, ties going to the earliest sample as in the strategies", () => {
    // Majority over A✓ B B ∅: k=2 {A,B}×2 tie → A (earliest), {A,∅} → A, {B,B}, {B,∅}×2 → B: 3/6.
    const pool = [candidate(0, "0"), candidate(1, "1"), candidate(2, "1"), candidate(3, undefined)];
    expect(exact(pool, 1, select.majority)).toBeCloseTo(1 / 4, 12);
    expect(exact(pool, 2, select.majority)).toBeCloseTo(3 / 6, 12);
    expect(exact(pool, 4, select.majority)).toBe(0);
    // Top score over 0.9✗ 0.5✓ 0.1✓: k=2 {0.9,0.5} → ✗, {0.9,0.1} → ✗, {0.5,0.1} → ✓.
    const scored = [candidate(0, "1", 0.9), candidate(1, "0", 0.5), candidate(2, "0", 0.1)];
    expect(exact(scored, 1, select.topScored)).toBeCloseTo(2 / 3, 12);
    expect(exact(scored, 2, select.topScored)).toBeCloseTo(1 / 3, 12);
    expect(exact(scored, 3, select.topScored)).toBe(0);
    expect(() => exact(scored, 4, select.topScored)).toThrow(RangeError);
  });

  it("equals brute force over every subset on random pools, for every pool shortcut", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const n = 2 + (seed % 8);
      const pool = randomPool(seed, n);
      for (const [name, rule] of Object.entries(select))
        for (let k = 1; k <= n; k++) {
          const brute = mean(
            allSubsets(pool, k).map((subset) => {
              const answer = rule(subset, arithmeticTask);
              return answer !== undefined && isRight(answer) ? 1 : 0;
            }),
          );
          expect(exact(pool, k, rule), `${name} seed ${seed} k=${k}`).toBeCloseTo(brute, 12);
        }
    }
  });

  it("hands the selection rule each subset in draw order", () => {
    // "The first sample's answer" depends on order: P(right) = Σ_i [i right] C(n-1-i, k-1) / C(n, k).
    const first = (candidates: readonly Candidate[]) => {
      for (let i = 1; i < candidates.length; i++)
        if (candidates[i]!.tokens <= candidates[i - 1]!.tokens) throw new Error("subset out of draw order");
      return candidates[0]?.answer;
    };
    const pool = randomPool(7, 12);
    for (const k of [1, 3, 6, 12]) {
      const closed = pool.reduce(
        (sum, c, i) => sum + (c.answer !== undefined && isRight(c.answer) ? binomial(11 - i, k - 1) : 0),
        0,
      );
      expect(exact(pool, k, first)).toBeCloseTo(closed / binomial(12, k), 12);
    }
    // Past the enumeration limit the seeded subsets are sorted too.
    const large = randomPool(8, 30);
    expect(() => exact(large, 10, first)).not.toThrow();
  });

  it("enumerates up to the limit, then averages that many seeded subsets close to the exact value", () => {
    let calls = 0;
    const counted = (candidates: readonly Candidate[]) => {
      calls += 1;
      return select.majority(candidates, arithmeticTask);
    };
    const small = randomPool(3, 12);
    expect(binomial(12, 4)).toBeLessThanOrEqual(maxEnumeratedSubsets);
    exact(small, 4, counted);
    expect(calls).toBe(binomial(12, 4));

    // C(20, 5) = 15504 subsets: beyond the limit, so the mean of seeded ones.
    const pool = randomPool(11, 20);
    const brute = mean(
      allSubsets(pool, 5).map((subset) => {
        const answer = select.majority(subset, arithmeticTask);
        return answer !== undefined && isRight(answer) ? 1 : 0;
      }),
    );
    expect(brute).toBeGreaterThan(0.05);
    expect(brute).toBeLessThan(0.95);
    calls = 0;
    const estimate = expectedSelection(pool, 5, counted, arithmeticTask, isRight, seededRandom(5));
    expect(calls).toBe(maxEnumeratedSubsets);
    // 2000 subsets: a standard error of at most 0.011.
    expect(Math.abs(estimate - brute)).toBeLessThan(0.04);
    // Seeded: the same seed gives the same estimate, another seed another sample of subsets.
    expect(expectedSelection(pool, 5, select.majority, arithmeticTask, isRight, seededRandom(5))).toBe(
      estimate,
    );
    const other = expectedSelection(pool, 5, select.majority, arithmeticTask, isRight, seededRandom(6));
    expect(Math.abs(other - brute)).toBeLessThan(0.04);
  });

  it("agrees with pass@k when the rule picks a right answer whenever one is present", () => {
    const pool = randomPool(21, 10);
    const anyRight = (candidates: readonly Candidate[]) =>
      candidates.find((c) => c.answer !== undefined && isRight(c.answer))?.answer ?? candidates[0]!.answer;
    const c = pool.filter((x) => x.answer !== undefined && isRight(x.answer)).length;
    for (let k = 1; k <= 10; k++) expect(exact(pool, k, anyRight)).toBeCloseTo(passAtK(10, c, k), 12);
  });
});
