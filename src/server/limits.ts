/**
 * Per-key limits: requests in flight, and tokens per rolling minute. A request that would go
 * over either gets OpenAI's 429 with a Retry-After. Tokens are reserved before the work: a
 * request of a key with a token limit takes its whole budget out of the key's window when it
 * is admitted (and that budget is its hard limit), and gives back what it did not spend when
 * it ends; so requests in flight at once can never spend more than the window holds.
 */
import { HttpError } from "./errors.js";

export interface KeyLimits {
  maxConcurrent?: number;
  tokensPerMinute?: number;
}

const windowMs = 60_000;

/** Tokens spent in the last minute, from a list of (time, tokens) entries, plus those reserved. */
class TokenWindow {
  private spent: { at: number; tokens: number }[] = [];
  reserved = 0;

  used(now: number): number {
    while (this.spent.length > 0 && this.spent[0]!.at <= now - windowMs) this.spent.shift();
    return this.spent.reduce((sum, e) => sum + e.tokens, 0) + this.reserved;
  }

  get idle(): boolean {
    return this.spent.length === 0 && this.reserved === 0;
  }

  /** When `needed` tokens will have left the window. */
  freesAt(needed: number, now: number): number {
    let freed = 0;
    for (const entry of this.spent) {
      freed += entry.tokens;
      if (freed >= needed) return entry.at + windowMs;
    }
    return now + windowMs;
  }

  record(tokens: number, now: number): void {
    if (tokens > 0) this.spent.push({ at: now, tokens });
  }
}

export interface Admission {
  /**
   * Tokens reserved for the request, its hard budget (undefined: no token limit on this key).
   */
  tokenAllowance?: number;
  /** Reports what the request spent and frees its slot; call exactly once. */
  release(tokensSpent: number): void;
}

export class KeyLimiter {
  private readonly inFlight = new Map<string, number>();
  private readonly windows = new Map<string, TokenWindow>();
  private total = 0;

  constructor(private readonly maxConcurrentRequests: number) {}

  /**
   * Lets a request of `caller` in, or throws a 429 saying which limit and for how long. Under
   * a token limit it reserves `wanted` tokens (its budget), or what the window has left when
   * that is less; when the window has less than `needed` (the least the request can cost),
   * it waits.
   */
  admit(caller: string, limits: KeyLimits, wanted = Infinity, needed = 1, now = Date.now()): Admission {
    if (this.total >= this.maxConcurrentRequests)
      throw rateLimited(`the server is at its limit of ${this.maxConcurrentRequests} requests in flight`, 1);
    const running = this.inFlight.get(caller) ?? 0;
    if (limits.maxConcurrent !== undefined && running >= limits.maxConcurrent)
      throw rateLimited(
        `Rate limit reached for ${caller}: ${limits.maxConcurrent} requests in flight at once. Wait for one to finish.`,
        1,
      );
    let tokenAllowance: number | undefined;
    // Only a key with a token limit keeps a window: without one, nothing would ever read or
    // trim what it records.
    const window = limits.tokensPerMinute !== undefined ? this.windowOf(caller) : undefined;
    if (window && limits.tokensPerMinute !== undefined) {
      const used = window.used(now);
      tokenAllowance = Math.min(wanted, limits.tokensPerMinute - used);
      if (tokenAllowance < Math.min(wanted, needed)) {
        const seconds = Math.ceil((window.freesAt(used + needed - limits.tokensPerMinute, now) - now) / 1000);
        throw rateLimited(
          `Rate limit reached for ${caller} on tokens per min: Limit ${limits.tokensPerMinute}, Used ${used}. Please try again in ${seconds}s.`,
          seconds,
          "tokens",
        );
      }
    }
    this.inFlight.set(caller, running + 1);
    this.total += 1;
    const reserved = tokenAllowance ?? 0;
    if (window) window.reserved += reserved;
    let released = false;
    return {
      tokenAllowance,
      release: (tokensSpent) => {
        if (released) return;
        released = true;
        this.total -= 1;
        const left = (this.inFlight.get(caller) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(caller);
        else this.inFlight.set(caller, left);
        if (!window) return;
        window.reserved -= reserved;
        window.record(tokensSpent, Date.now());
        if (window.idle) this.windows.delete(caller);
      },
    };
  }

  private windowOf(caller: string): TokenWindow {
    let window = this.windows.get(caller);
    if (!window) {
      window = new TokenWindow();
      this.windows.set(caller, window);
    }
    return window;
  }
}

function rateLimited(message: string, retryAfterSeconds: number, type = "requests"): HttpError {
  return new HttpError(429, message, type, null, "rate_limit_exceeded", {
    "retry-after": String(Math.max(1, retryAfterSeconds)),
  });
}
