/**
 * Per-problem estimators of "accuracy at budget k" from one pool of n samples, as test-time
 * scaling papers compute them: every budget k ≤ n is the expectation over uniformly random
 * k-subsets of the pool, so one run at the largest budget yields the whole curve.
 *
 * Answer classes: samples with the same `answerKey` hold equivalent answers; samples without
 * one gave no answer and never win a vote. A class's correctness is the fraction of its samples
 * marked correct (graders agree within a class, so this is 0 or 1 in practice).
 */
import type { Random } from "../core/random.js";

/** One recorded sample of a problem. */
export interface SampleOutcome {
  correct: boolean;
  /** Equivalence-class id of the extracted answer; undefined = no answer. */
  answerKey?: string;
  /** Verifier score, higher is better. */
  reward?: number;
  /** Generated tokens of this sample. */
  tokens: number;
}

/** C(a, k) / C(n, k) computed as a product, stable where the binomials themselves overflow. */
export function binomialRatio(a: number, k: number, n: number): number {
  if (k < 0 || a < k) return 0;
  let ratio = 1;
  for (let i = 0; i < k; i++) ratio *= (a - i) / (n - i);
  return ratio;
}

const pascal: Float64Array[] = [Float64Array.of(1)];

/** Binomial coefficient as a float (exact up to 2^53), from a cached Pascal triangle up to n = 1030. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  if (n > 1030) {
    let value = 1;
    const m = Math.min(k, n - k);
    for (let i = 1; i <= m; i++) value = (value * (n - m + i)) / i;
    return value;
  }
  for (let row = pascal.length; row <= n; row++) {
    const previous = pascal[row - 1]!;
    const next = new Float64Array(row + 1);
    next[0] = 1;
    next[row] = 1;
    for (let i = 1; i < row; i++) next[i] = previous[i - 1]! + previous[i]!;
    pascal.push(next);
  }
  return pascal[n]![k]!;
}

/**
 * Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), the probability that a random
 * k-subset of n samples with c correct holds at least one correct sample.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  return 1 - binomialRatio(n - c, k, n);
}

interface AnswerClass {
  count: number;
  /** Fraction of the class's samples that are correct. */
  correctness: number;
}

/** Groups answered samples by `answerKey`; returns the classes and the number of unanswered samples. */
function answerClasses(samples: readonly SampleOutcome[]): { classes: AnswerClass[]; unanswered: number } {
  const byKey = new Map<string, { count: number; correct: number }>();
  let unanswered = 0;
  for (const s of samples) {
    if (s.answerKey === undefined) {
      unanswered++;
      continue;
    }
    const entry = byKey.get(s.answerKey) ?? { count: 0, correct: 0 };
    entry.count++;
    if (s.correct) entry.correct++;
    byKey.set(s.answerKey, entry);
  }
  return {
    classes: [...byKey.values()].map((e) => ({ count: e.count, correctness: e.correct / e.count })),
    unanswered,
  };
}

/** Above this many DP steps maj@k falls back to Monte Carlo. */
const maxExactMajoritySteps = 2e7;

/**
 * maj@k (self-consistency): the expected correctness of the most frequent answer in a random
 * k-subset. Ties between top classes are broken uniformly at random (so a 2-way tie with one
 * correct class counts 1/2); unanswered samples never win, and a subset with no answer at all
 * scores 0. Exact by dynamic programming over answer classes; Monte Carlo with `draws` seeded
 * subsets only when the exact computation would be too large.
 */
export function majorityAtK(
  samples: readonly SampleOutcome[],
  k: number,
  random: Random,
  draws = 200,
): number {
  const n = samples.length;
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  const { classes, unanswered } = answerClasses(samples);
  const targets = classes.filter((c) => c.correctness > 0).length;
  const steps = targets * k * (n + classes.length + 1) * (k + 1) * (classes.length + 1);
  if (n <= 1000 && steps <= maxExactMajoritySteps) return exactMajority(classes, unanswered, n, k);
  return subsetVote(samples, k, random, draws, () => 1);
}

function exactMajority(classes: AnswerClass[], unanswered: number, n: number, k: number): number {
  const total = binomial(n, k);
  let expected = 0;
  for (let j = 0; j < classes.length; j++) {
    const target = classes[j]!;
    if (target.correctness === 0) continue;
    const others = classes.filter((_, i) => i !== j);
    for (let t = 1; t <= Math.min(target.count, k); t++) {
      const rest = k - t;
      // Classes that can tie with the target bound the tie counter.
      const maxTied = others.filter((o) => o.count >= t).length;
      const width = maxTied + 1;
      // ways[s * width + e]: ways to pick s samples from the other classes (each answered class
      // at most t times) with e of them tied with the target at exactly t.
      let ways = new Float64Array((rest + 1) * width);
      let next = new Float64Array((rest + 1) * width);
      ways[0] = 1;
      let reach = 0;
      for (const other of others) {
        next.fill(0);
        const most = Math.min(other.count, t);
        for (let s = 0; s <= reach; s++) {
          for (let e = 0; e < width; e++) {
            const w = ways[s * width + e]!;
            if (w === 0) continue;
            for (let c = 0; c <= Math.min(most, rest - s); c++) {
              const e2 = c === t ? e + 1 : e;
              next[(s + c) * width + e2]! += w * binomial(other.count, c);
            }
          }
        }
        reach = Math.min(rest, reach + most);
        [ways, next] = [next, ways];
      }
      let favourable = 0;
      // Unanswered samples fill the rest of the subset freely; they never compete.
      for (let s = 0; s <= reach; s++) {
        const fill = binomial(unanswered, rest - s);
        if (fill === 0) continue;
        for (let e = 0; e < width; e++) favourable += (ways[s * width + e]! * fill) / (1 + e);
      }
      expected += (target.correctness * binomial(target.count, t) * favourable) / total;
    }
  }
  return expected;
}

/**
 * rm@k (best-of-k by reward): the expected correctness of the highest-reward sample in a random
 * k-subset. Exact: with samples grouped by equal reward, the top of a subset falls in group g
 * with probability [C(a_g, k) - C(b_g, k)] / C(n, k), where a_g counts samples with reward ≤ g's
 * and b_g those strictly below; ties within a group are broken uniformly at random, so the group
 * contributes its mean correctness. Samples without a reward rank below every rewarded one.
 */
export function bestOfKByReward(samples: readonly SampleOutcome[], k: number): number {
  const n = samples.length;
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  const groups = new Map<number, { count: number; correct: number }>();
  for (const s of samples) {
    const reward = s.reward ?? Number.NEGATIVE_INFINITY;
    const group = groups.get(reward) ?? { count: 0, correct: 0 };
    group.count++;
    if (s.correct) group.correct++;
    groups.set(reward, group);
  }
  let below = 0;
  let expected = 0;
  for (const [, group] of [...groups].sort((a, b) => a[0] - b[0])) {
    const atOrBelow = below + group.count;
    const pTop = binomialRatio(atOrBelow, k, n) - binomialRatio(below, k, n);
    expected += pTop * (group.correct / group.count);
    below = atOrBelow;
  }
  return expected;
}

/**
 * wmaj@k (weighted majority): in a random k-subset, sum the rewards of each answer class and
 * take the class with the largest sum (ties at random; unanswered samples carry no weight).
 * Exact enumeration when there are at most `draws` subsets, otherwise the mean over `draws`
 * subsets drawn with the seeded `random`.
 */
export function weightedMajorityAtK(
  samples: readonly SampleOutcome[],
  k: number,
  random: Random,
  draws = 200,
): number {
  return subsetVote(samples, k, random, draws, (s) => s.reward ?? 0);
}

/**
 * Expected correctness of the top class by summed weight over subsets (all of them when there
 * are at most `draws`, else `draws` seeded random ones), ties broken uniformly at random.
 */
function subsetVote(
  samples: readonly SampleOutcome[],
  k: number,
  random: Random,
  draws: number,
  weight: (s: SampleOutcome) => number,
): number {
  const n = samples.length;
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  // Integer class ids and typed arrays: this runs draws × problems × budgets times.
  const ids = new Map<string, number>();
  const classOf = new Int32Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = samples[i]!.answerKey;
    if (key === undefined) classOf[i] = -1;
    else {
      if (!ids.has(key)) ids.set(key, ids.size);
      classOf[i] = ids.get(key)!;
    }
    weights[i] = weight(samples[i]!);
  }
  const correctness = new Float64Array(ids.size);
  const sizes = new Float64Array(ids.size);
  for (let i = 0; i < n; i++) {
    if (classOf[i]! < 0) continue;
    sizes[classOf[i]!]! += 1;
    if (samples[i]!.correct) correctness[classOf[i]!]! += 1;
  }
  for (let c = 0; c < ids.size; c++) correctness[c]! /= sizes[c]!;

  const sums = new Float64Array(ids.size);
  const present = new Uint8Array(ids.size);
  const vote = (subset: ArrayLike<number>): number => {
    sums.fill(0);
    present.fill(0);
    for (let i = 0; i < k; i++) {
      const c = classOf[subset[i]!]!;
      if (c < 0) continue;
      sums[c]! += weights[subset[i]!]!;
      present[c] = 1;
    }
    let best = Number.NEGATIVE_INFINITY;
    let tied = 0;
    let correct = 0;
    for (let c = 0; c < sums.length; c++) {
      if (!present[c]) continue;
      if (sums[c]! > best) {
        best = sums[c]!;
        tied = 1;
        correct = correctness[c]!;
      } else if (sums[c] === best) {
        tied++;
        correct += correctness[c]!;
      }
    }
    return tied === 0 ? 0 : correct / tied;
  };

  if (binomial(n, k) <= draws) {
    let sum = 0;
    let count = 0;
    for (const subset of combinations(n, k)) {
      sum += vote(subset);
      count++;
    }
    return sum / count;
  }
  const pool = new Int32Array(n);
  let sum = 0;
  for (let d = 0; d < draws; d++) {
    for (let i = 0; i < n; i++) pool[i] = i;
    // Partial Fisher-Yates: the first k entries become a uniform random k-subset.
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (n - i));
      const swap = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = swap;
    }
    sum += vote(pool);
  }
  return sum / draws;
}

/** Every k-subset of 0..n-1 in lexicographic order. */
export function* combinations(n: number, k: number): Generator<number[]> {
  const index = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield index.slice();
    let i = k - 1;
    while (i >= 0 && index[i] === n - k + i) i--;
    if (i < 0) return;
    index[i]!++;
    for (let j = i + 1; j < k; j++) index[j] = index[j - 1]! + 1;
  }
}
