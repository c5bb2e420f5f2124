/**
 * Advances all sequences that are generating in one context together, one token per step.
 *
 * Why: node-llama-cpp starts the next batch as soon as any sequence has sampled its token, and
 * sampling runs on worker threads that finish in no fixed order, so which sequences share a
 * batch would vary from run to run. llama.cpp's CPU kernels round differently for different
 * batch shapes (logprobs move by ~1e-3 on larger models), which is enough to change seeded
 * samples. Releasing every waiting sequence at once, in a fixed order, after the previous
 * batch has fully finished, makes the batches (and so the samples) a function of the request.
 */
export class Lockstep {
  private active = 0;
  private waiting: { order: number; resume: () => void }[] = [];
  private checkScheduled = false;

  /** A sequence starts generating: from now on each step waits for it too. */
  join(): void {
    this.active++;
  }

  /** A sequence has stopped generating. */
  leave(): void {
    this.active--;
    this.releaseIfAllReady();
  }

  /** Resolves when every generating sequence is ready for its next token. */
  ready(order: number): Promise<void> {
    return new Promise((resume) => {
      this.waiting.push({ order, resume });
      this.releaseIfAllReady();
    });
  }

  private releaseIfAllReady(): void {
    if (this.checkScheduled || this.waiting.length === 0 || this.waiting.length < this.active) return;
    // Decided a macrotask later: by then the previous batch's dispatch loop has exited, and
    // sequences that join in the same turn (the start of a request) are waited for too.
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      if (this.waiting.length === 0 || this.waiting.length < this.active) return;
      const released = this.waiting.sort((a, b) => a.order - b.order);
      this.waiting = [];
      for (const waiter of released) waiter.resume();
    });
  }
}
