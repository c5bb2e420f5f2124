import { AbortedError } from "../core/errors.js";

/** How often and how patiently a failed HTTP call is tried again. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = try once). */
  maxRetries: number;
  /** Backoff ceiling of the first retry; doubles on each further retry. */
  baseDelayMs: number;
  /** No wait exceeds this, whether from backoff or from a server's Retry-After. */
  maxDelayMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the ceiling is fixed, half random, so that
 * many clients failing together spread out without any of them retrying instantly.
 */
export function backoffDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Milliseconds to wait as told by a `Retry-After` header (delta seconds or an HTTP date). */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before retry number `retry` (0-based): the server's word when given, else backoff. */
export function retryDelayMs(retry: number, policy: RetryPolicy, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(policy.maxDelayMs, retryAfterMs);
  return backoffDelayMs(retry, policy);
}

/** Waits `ms`, or rejects with AbortedError the moment `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const networkErrorCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/**
 * Whether `error` (thrown by fetch or while reading a body) means the connection failed, as
 * opposed to a bug or an abort. Undici reports these as a TypeError whose `cause` has a code.
 */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = networkCode(error);
  if (code !== undefined) return networkErrorCodes.has(code) || code.startsWith("UND_ERR_");
  return error instanceof TypeError && /fetch failed|terminated|socket|network/i.test(error.message);
}

/** The system or undici error code behind a fetch failure, e.g. `ECONNREFUSED`. */
export function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}
