/**
 * Recent requests, newest first, for the dashboard's live view: a fixed-size ring in memory,
 * where every text a client controls (model name, answer, error) is cut to a few hundred
 * characters and redacted, so that what is kept per request stays small and shows no secret.
 * A reasoning model's thinking (the chosen sample's) is kept too, cut to a few thousand.
 */
import type { Result } from "../core/types.js";
import { type Redact, truncate } from "./redact.js";

export interface LiveRequest {
  id: string;
  startedAt: string;
  endpoint: string;
  model: string;
  strategy: string;
  caller: string;
  stream: boolean;
  /** HTTP status; undefined while in flight. */
  status?: number;
  stopReason?: string;
  answer?: string | null;
  /** The chosen sample's thinking, when a reasoning model thought (cut and redacted). */
  thinking?: string;
  /** Its tokens, when the engine counted them apart. */
  reasoningTokens?: number;
  promptTokens?: number;
  completionTokens?: number;
  verifierTokens?: number;
  calls?: number;
  latencyMs?: number;
  error?: string;
}

/** A request as kept: its start as a number, turned into `startedAt` only when it is read. */
export type LiveEntry = Omit<LiveRequest, "startedAt"> & { startedMs: number };

export class LiveRequests {
  /** A ring: `next` is where the next request goes, over the oldest once it is full. */
  private readonly entries: LiveEntry[] = [];
  private next = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxChars = 200,
    private readonly redact: Redact = (text) => text,
    /** Characters of thinking kept per request. */
    private readonly maxThinkingChars = maxChars * 10,
  ) {}

  private text(value: string, max = this.maxChars): string {
    return truncate(this.redact(truncate(value, max * 4)), max);
  }

  start(entry: Omit<LiveRequest, "startedAt">): LiveEntry {
    // Not a spread: V8 makes each field `end` adds to a spread copy cost microseconds.
    const kept: LiveEntry = Object.assign({ startedMs: Date.now() }, entry);
    kept.model = this.text(entry.model);
    kept.caller = this.text(entry.caller);
    if (this.capacity === 0) return kept;
    // Not unshift: that moves every kept entry, for every request.
    this.entries[this.next] = kept;
    this.next = (this.next + 1) % this.capacity;
    return kept;
  }

  /** Records how a request ended. */
  end(live: LiveEntry, status: number, result?: Result, error?: string): void {
    live.status = status;
    live.latencyMs = Date.now() - live.startedMs;
    if (result) {
      live.stopReason = result.stopReason;
      live.answer = result.answer === undefined ? null : this.text(result.answer);
      const chosen = result.chosen === undefined ? undefined : result.candidates[result.chosen];
      if (chosen?.reasoning) live.thinking = this.text(chosen.reasoning, this.maxThinkingChars);
      if (chosen?.reasoningTokens !== undefined) live.reasoningTokens = chosen.reasoningTokens;
      live.promptTokens = result.usage.promptTokens;
      live.completionTokens = result.usage.completionTokens;
      live.verifierTokens = result.usage.verifierTokens ?? 0;
      live.calls = result.usage.calls;
    }
    if (error !== undefined) live.error = this.text(error);
  }

  /** The kept requests, newest first. */
  recent(): LiveRequest[] {
    const newestFirst = [
      ...this.entries.slice(0, this.next).reverse(),
      ...this.entries.slice(this.next).reverse(),
    ];
    return newestFirst.map(({ startedMs, ...entry }) => ({
      ...entry,
      startedAt: new Date(startedMs).toISOString(),
    }));
  }
}
