/**
 * Expected accuracy at budget k from one pool of n drawn samples, as test-time scaling papers
 * compute it: the expectation over k-subsets of the pool, so one draw at the largest budget
 * yields the whole curve. pass@k has a closed form; a strategy's own selection rule is
 * averaged over the subsets themselves (every one when there are few, seeded ones otherwise).
 */
import type { Random } from "../core/random.js";
import type { Candidate, Task } from "../core/types.js";

/** C(a, k) / C(n, k) computed as a product, stable where the binomials themselves overflow. */
export function binomialRatio(a: number, k: number, n: number): number {
  if (k < 0 || a < k) return 0;
  let ratio = 1;
  for (let i = 0; i < k; i++) ratio *= (a - i) / (n - i);
  return ratio;
}

/** C(n, k) as a float. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let value = 1;
  const m = Math.min(k, n - k);
  for (let i = 1; i <= m; i++) value = (value * (n - m + i)) / i;
  return Math.round(value);
}

/**
 * Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), the probability that a random
 * k-subset of n samples with c correct holds at least one correct sample.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  return 1 - binomialRatio(n - c, k, n);
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

/** Up to this many subsets are enumerated; beyond, the mean over this many seeded ones. */
export const maxEnumeratedSubsets = 2000;

/**
 * Seeded subsets per problem when a run has `problems` problems: enough that the Monte Carlo
 * noise of the run's mean stays far below the spread between problems (`subsetsPerRun` over
 * the run: a standard error under 0.5 / sqrt(100,000) ≈ 0.16 points, against bootstrap
 * intervals of several points), at least 50 per problem, and at most `maxEnumeratedSubsets`
 * (what a run of up to 50 problems gets). The estimate stays unbiased.
 */
export const subsetsPerRun = 100_000;
export function subsetsPerProblem(problems: number): number {
  return Math.min(maxEnumeratedSubsets, Math.max(50, Math.ceil(subsetsPerRun / Math.max(1, problems))));
}

/**
 * The expected correctness of `select` (a strategy's selection rule) on a k-subset of `pool`,
 * the subset kept in draw order as the strategy would have seen it. Exact when C(n, k) is at
 * most `subsets` (default `maxEnumeratedSubsets`), else a Monte Carlo mean over that many
 * seeded subsets. `task` is whatever the rule groups answers with: the bench passes the task
 * with its equivalence decided once per pair of the problem's answers (`memoizedTask`).
 */
export function expectedSelection(
  pool: readonly Candidate[],
  k: number,
  select: (candidates: readonly Candidate[], task: Task) => string | undefined,
  task: Task,
  isCorrect: (answer: string) => boolean,
  random: Random,
  subsets: number = maxEnumeratedSubsets,
): number {
  const n = pool.length;
  if (k > n) throw new RangeError(`k=${k} exceeds n=${n}`);
  // Subsets come sorted: the rule sees its candidates in draw order.
  const score = (indices: readonly number[]) => {
    const answer = select(
      indices.map((i) => pool[i]!),
      task,
    );
    return answer !== undefined && isCorrect(answer) ? 1 : 0;
  };
  if (binomial(n, k) <= subsets) {
    let sum = 0;
    let count = 0;
    for (const subset of combinations(n, k)) {
      sum += score(subset);
      count += 1;
    }
    return sum / count;
  }
  const draw = subsetSampler(n, k, random);
  let sum = 0;
  for (let i = 0; i < subsets; i++) sum += score(draw());
  return sum / subsets;
}

/**
 * Uniform random k-subsets of 0..n-1 (a partial Fisher-Yates shuffle of one reused
 * permutation, so each subset costs O(k), not O(n) and an allocation of n).
 */
function subsetSampler(n: number, k: number, random: Random): () => number[] {
  const permutation = Int32Array.from({ length: n }, (_, i) => i);
  return () => {
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (n - i));
      const t = permutation[i]!;
      permutation[i] = permutation[j]!;
      permutation[j] = t;
    }
    return Array.from(permutation.slice(0, k).sort());
  };
}
