import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { AbortedError } from "../core/errors.js";

interface Waiter {
  prefer: readonly Token[];
  grant: (sequence: LlamaContextSequence) => void;
  reject: (error: Error) => void;
}

/** How many leading tokens of `tokens` a sequence already holds in its KV cache. */
export function cachedPrefixLength(sequence: LlamaContextSequence, tokens: readonly Token[]): number {
  return Math.min(tokens.length, sequence.compareContextTokens(tokens as Token[]).firstDifferentIndex);
}

/**
 * Hands out the sequences of one context, one caller at a time per sequence, so that
 * overlapping requests never evaluate into the same KV cells. Waiters are served first come,
 * first served; a free sequence that already holds the longest part of the caller's prompt is
 * preferred, so repeated prompts find their prefix still cached.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[];
  private readonly waiters: Waiter[] = [];

  constructor(readonly sequences: readonly LlamaContextSequence[]) {
    this.free = [...sequences];
  }

  get size(): number {
    return this.sequences.length;
  }

  get available(): number {
    return this.free.length;
  }

  /** Waits for a free sequence; rejects with AbortedError when `signal` aborts first. */
  acquire(prefer: readonly Token[], signal?: AbortSignal): Promise<LlamaContextSequence> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (this.waiters.length === 0 && this.free.length > 0) return Promise.resolve(this.take(prefer));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new AbortedError());
      };
      const waiter: Waiter = {
        prefer,
        grant: (sequence) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(sequence);
        },
        reject,
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Up to `max` sequences that are free right now, without waiting (none while others wait). */
  tryAcquire(max: number, prefer: readonly Token[]): LlamaContextSequence[] {
    const taken: LlamaContextSequence[] = [];
    if (this.waiters.length > 0) return taken;
    while (taken.length < max && this.free.length > 0) taken.push(this.take(prefer));
    return taken;
  }

  release(sequence: LlamaContextSequence): void {
    if (!this.sequences.includes(sequence) || this.free.includes(sequence)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      // Hand over directly: the waiter prefers some prefix, but any sequence beats waiting longer.
      this.free.push(sequence);
      waiter.grant(this.take(waiter.prefer));
      return;
    }
    this.free.push(sequence);
  }

  /**
   * The free sequence holding the longest part of `prefer`, ties to the lowest index: the same
   * request on the same pool state then always lands on the same sequences.
   */
  private take(prefer: readonly Token[]): LlamaContextSequence {
    let best = -1;
    let bestLength = -1;
    let bestIndex = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.free.length; i++) {
      const sequence = this.free[i]!;
      const length = cachedPrefixLength(sequence, prefer);
      const index = this.sequences.indexOf(sequence);
      if (length > bestLength || (length === bestLength && index < bestIndex)) {
        best = i;
        bestLength = length;
        bestIndex = index;
      }
    }
    return this.free.splice(best, 1)[0]!;
  }
}
