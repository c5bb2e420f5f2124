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

/** A backend could not be reached or kept failing after retries. */
export class BackendError extends ReckonError {
  constructor(
    message: string,
    readonly status?: number,
    hint?: string,
    /** The server's `Retry-After` on the last attempt, so a caller (a pool) can wait or fail over. */
    readonly retryAfterMs?: number,
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
