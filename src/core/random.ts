/**
 * Seeded randomness: the same seed gives the same stream, in TypeScript and (for the
 * arithmetic task) in the Python training tool, which mirrors `Mulberry32` and `mixSeed` bit
 * for bit (tools/train-tiny/arith_gen.py).
 */
const imul = (a: number, b: number): number => Math.imul(a, b) >>> 0;

export function fmix32(input: number): number {
  let h = input >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = imul(h, 0x85ebca6b);
  h = (h ^ (h >>> 13)) >>> 0;
  h = imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Combines a seed with further integers into one well-mixed 32-bit seed. */
export function mixSeed(seed: number, ...parts: number[]): number {
  let h = fmix32(seed);
  parts.forEach((part, i) => {
    // xor for the first part and addition for the rest, as in arith_gen.problem_seed
    h = i === 0 ? fmix32((h ^ part) >>> 0) : fmix32((h + part) >>> 0);
  });
  return h;
}

export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    const a = this.state;
    let t = imul((a ^ (a >>> 15)) >>> 0, (a | 1) >>> 0);
    t = (((t + imul((t ^ (t >>> 7)) >>> 0, (t | 61) >>> 0)) >>> 0) ^ t) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi]; exact because the product stays below 2^53. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.nextUint32() * (hi - lo + 1)) / 4294967296);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new RangeError("pick from an empty list");
    return item;
  }
}

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/** A `Random` stream of mulberry32 from `seed`. */
export function seededRandom(seed: number): Random {
  const generator = new Mulberry32(seed);
  return () => generator.next();
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

/** FNV-1a of a string: a cheap, stable 32-bit hash for seeding. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The seed of sample `index` of a request seeded with `seed`, the one rule every backend
 * follows: fixed per index whatever call or sequence draws it, sample 0 keeps the seed itself
 * (so a server that ignores `n` still agrees on it), and below 2^31 for servers that read a
 * signed 32-bit integer.
 */
export function sampleSeed(seed: number, index: number): number {
  if (index === 0) return (seed >>> 0) & 0x7fffffff;
  return fmix32(fmix32(seed >>> 0) ^ fmix32((index + 0x9e3779b9) >>> 0)) & 0x7fffffff;
}
