/**
 * Seeded 32-bit PRNG (mulberry32, seeded through murmur3's fmix32). Written to match
 * tools/train-tiny/arith_gen.py bit for bit, so both languages draw the same problems.
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
