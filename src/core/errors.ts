/** Typed errors that say what went wrong and what to do about it. */
import type { GenerateResponse } from "./backend.js";

export class ReckonError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
    this.name = new.target.name;
  }
}

/** Input that failed validation; `field` names what to fix. */
export class InvalidInputError extends ReckonError {
  constructor(
    readonly field: string,
    problem: string,
    hint?: string,
  ) {
    super(`invalid ${field}: ${problem}`, hint);
  }
}

/** The budget allows no further backend call. Strategies catch it and return a partial result. */
export class BudgetExhaustedError extends ReckonError {
  constructor(readonly limit: "tokens" | "calls" | "wallMs" | "costUsd") {
    super(`budget exhausted: ${limit}`);
  }
}

/**
 * What kind of failure a BackendError is, for callers to act on without reading its words:
 * `timeout` (no answer, or no next byte, in time), `unreachable` (no connection), `rate-limited`,
 * `upstream-failed` (the server's own error, 5xx), `prompt-too-long` (the prompt and answer do
 * not fit the model's context), `n-unsupported` (the server takes one sample per request),
 * `rejected` (any other refusal of the request), `bad-response` (an answer that is not what an
 * OpenAI-compatible server sends).
 */
export type BackendErrorCode =
  | "timeout"
  | "unreachable"
  | "rate-limited"
  | "upstream-failed"
  | "prompt-too-long"
  | "n-unsupported"
  | "rejected"
  | "bad-response";

/** A backend could not be reached or kept failing after retries. */
export class BackendError extends ReckonError {
  constructor(
    message: string,
    readonly status?: number,
    hint?: string,
    /** The server's `Retry-After` on the last attempt, so a caller (a pool) can wait or fail over. */
    readonly retryAfterMs?: number,
    readonly code?: BackendErrorCode,
  ) {
    super(message, hint);
  }
}

/**
 * The work was cancelled. From a backend call, `partial` holds what was generated before the
 * cancellation (finished and cut-off completions) and its usage, so nothing spent goes unmetered.
 */
export class AbortedError extends ReckonError {
  constructor(readonly partial?: GenerateResponse) {
    super("aborted");
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}
