/**
 * Recent requests, newest first, for the dashboard's live view: a fixed-size ring in memory,
 * where every text a client controls (model name, answer, error) is cut to a few hundred
 * characters and redacted, so that what is kept per request stays small and shows no secret.
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
  promptTokens?: number;
  completionTokens?: number;
  verifierTokens?: number;
  calls?: number;
  latencyMs?: number;
  error?: string;
}

export class LiveRequests {
  private readonly entries: LiveRequest[] = [];

  constructor(
    private readonly capacity: number,
    private readonly maxChars = 200,
    private readonly redact: Redact = (text) => text,
  ) {}

  private text(value: string): string {
    return truncate(this.redact(truncate(value, this.maxChars * 4)), this.maxChars);
  }

  start(entry: LiveRequest): LiveRequest {
    const kept = { ...entry, model: this.text(entry.model), caller: this.text(entry.caller) };
    if (this.capacity === 0) return kept;
    this.entries.unshift(kept);
    if (this.entries.length > this.capacity) this.entries.pop();
    return kept;
  }

  /** Records how a request ended. */
  end(live: LiveRequest, status: number, result?: Result, error?: string): void {
    live.status = status;
    live.latencyMs = Date.now() - Date.parse(live.startedAt);
    if (result) {
      live.stopReason = result.stopReason;
      live.answer = result.answer === undefined ? null : this.text(result.answer);
      live.promptTokens = result.usage.promptTokens;
      live.completionTokens = result.usage.completionTokens;
      live.verifierTokens = result.usage.verifierTokens ?? 0;
      live.calls = result.usage.calls;
    }
    if (error !== undefined) live.error = this.text(error);
  }

  recent(): LiveRequest[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
