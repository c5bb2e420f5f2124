/**
 * Stop strings found in text that arrives piece by piece. Text that could still become the
 * start of a stop string is held back, so what is released never has to be taken back: a
 * streamed sample's pieces join to exactly its final text.
 */
export class StopScanner {
  private pending = "";
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  /**
   * Adds a piece. Returns the text now safe to release and, when a stop string completed, which
   * one (the text before it is released, the stop string and anything after it are dropped).
   */
  push(piece: string): { release: string; stop?: string } {
    if (this.done) return { release: "" };
    this.pending += piece;
    let earliest: { at: number; stop: string } | undefined;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at >= 0 && (earliest === undefined || at < earliest.at)) earliest = { at, stop };
    }
    if (earliest) {
      this.done = true;
      const release = this.pending.slice(0, earliest.at);
      this.pending = "";
      return { release, stop: earliest.stop };
    }
    const keep = partialStopLength(this.pending, this.stops);
    const release = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return { release };
  }

  /** The end of the text: what was held back can no longer start a stop string. */
  flush(): string {
    const rest = this.done ? "" : this.pending;
    this.pending = "";
    this.done = true;
    return rest;
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `stops`. */
export function partialStopLength(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}
