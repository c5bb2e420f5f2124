/** Keeps the first bytes of a stream up to a limit, and says when more came. */
import { truncationMarker } from "./sandbox.js";

export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Adds a chunk; returns false once the limit is passed (the rest is dropped). */
  push(chunk: Buffer): boolean {
    const room = this.maxBytes - this.kept;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.kept = this.maxBytes;
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
    return true;
  }

  text(): string {
    const text = Buffer.concat(this.chunks).toString("utf8");
    return this.overflowed ? text + truncationMarker(this.maxBytes) : text;
  }
}
