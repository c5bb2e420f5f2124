/** Small seeded randomness for reproducible shuffles, subsets and bootstrap resamples. */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for resampling; the same seed gives the same stream. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed derived from a base seed and labels (FNV-1a), so that each problem, budget or
 * metric gets its own stream and results do not depend on the order things are computed in.
 */
export function deriveSeed(seed: number, ...labels: (string | number | undefined)[]): number {
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  hash = Math.imul(hash, 0x01000193) >>> 0;
  for (const label of labels) {
    const text = `\u0000${label ?? ""}`;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  }
  return hash;
}

/** A uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Indices of a uniformly random k-subset of 0..n-1 (partial Fisher-Yates). */
export function randomSubset(n: number, k: number, random: Random): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(random, n - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}
