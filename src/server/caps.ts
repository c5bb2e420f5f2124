/**
 * Per-request caps that hold for every strategy, present and future: a middleware under the
 * strategy counts what it asks the backend for, whatever the strategy's options are called.
 * A call that would draw more samples than `limits.maxSamples`, or could take the request past
 * its token cap (`limits.maxBudgetTokens`, or its budget: counted as `usage` counts, prompts
 * bounded by their size), is refused before it reaches the upstream; every call's
 * `max_tokens` is held to `limits.maxTokensPerSample` and to what the cap has left. Refused before anything was drawn, the
 * request is a 400 (nothing was spent); later, the strategy stops as on an exhausted budget
 * and answers with what it has.
 */
import { type BackendMiddleware, forwardBackend, type GenerateResponse } from "../core/backend.js";
import { AbortedError, BudgetExhaustedError } from "../core/errors.js";
import type { Meter } from "../core/meter.js";
import { type ChatMessage, totalTokens, type Usage } from "../core/types.js";
import { invalidRequest } from "./errors.js";

export interface RequestCaps {
  maxSamples: number;
  maxTokens: number;
  maxTokensPerSample: number;
  /** Records what every call spent, a cancelled one's included (what a failed request cost). */
  spent?: Meter;
}

/** Refusal once the request has drawn something: the strategy stops and answers. */
class RequestCapReached extends BudgetExhaustedError {
  constructor(message: string) {
    super("calls");
    this.message = message;
  }
}

export function requestCapsMiddleware(caps: RequestCaps): BackendMiddleware {
  let samples = 0;
  let tokens = 0;
  const refuse = (message: string, param: string) => {
    if (samples === 0)
      return invalidRequest(
        `${message}: this request asks for more than this server allows per request`,
        param,
        "request_over_limit",
      );
    return new RequestCapReached(message);
  };
  const count = (usage: Usage) => {
    tokens += billed(usage);
    caps.spent?.record(usage);
  };
  /** A failed call: a cancelled one still spent tokens. */
  const failed = (error: unknown): Promise<never> => {
    if (error instanceof AbortedError && error.partial) count(error.partial.usage);
    return Promise.reject(error);
  };
  return (next) =>
    forwardBackend(next, {
      // Not an async function: a call waits in the engine's frame, not in one of this layer's own.
      generate(request) {
        const n = Math.max(1, request.n);
        if (samples + n > caps.maxSamples)
          return Promise.reject(
            refuse(
              `a call for ${n} more samples after ${samples} would pass the limit of ${caps.maxSamples} samples per request`,
              "reckon",
            ),
          );
        // Each sample may write at most what is left once the prompt (bounded by its size) is paid.
        const left = caps.maxTokens - tokens - promptBound(request.prompt, request.continuation);
        if (left < n)
          return Promise.reject(
            refuse(
              `the request has ${Math.max(0, caps.maxTokens - tokens)} of its ${caps.maxTokens} tokens left, not enough for another call`,
              "reckon.budget.maxTokens",
            ),
          );
        samples += n;
        const maxTokens = Math.min(
          request.maxTokens ?? caps.maxTokensPerSample,
          caps.maxTokensPerSample,
          Math.floor(left / n),
        );
        let pending: Promise<GenerateResponse>;
        try {
          pending = next.generate(maxTokens === request.maxTokens ? request : { ...request, maxTokens });
        } catch (error) {
          return failed(error);
        }
        return pending.then((response) => {
          count(response.usage);
          return response;
        }, failed);
      },
    });
}

/** Tokens as a client is billed for them: cached prompt tokens included. */
const billed = (usage: Usage) => totalTokens(usage) + (usage.cachedPromptTokens ?? 0);

/**
 * More tokens than the prompt can take: a token is at least one byte of text, and a chat
 * template adds a few per message.
 */
export function promptBound(prompt: string | ChatMessage[], continuation = ""): number {
  const bytes = (text: string) => Buffer.byteLength(text, "utf8");
  const tokens =
    typeof prompt === "string"
      ? bytes(prompt) + 16
      : prompt.reduce((sum, m) => sum + bytes(m.content) + 16, 16);
  return tokens + bytes(continuation);
}
