/**
 * Per-request caps that hold for every strategy, present and future: a middleware under the
 * strategy counts what it asks the backend for, whatever the strategy's options are called.
 * A call that would draw more samples than `limits.maxSamples`, or start after the request
 * spent `limits.maxBudgetTokens`, is refused before it reaches the upstream; every call's
 * `max_tokens` is held to `limits.maxTokensPerSample`. Refused before anything was drawn, the
 * request is a 400 (nothing was spent); later, the strategy stops as on an exhausted budget
 * and answers with what it has.
 */
import { type BackendMiddleware, forwardBackend } from "../core/backend.js";
import { AbortedError, BudgetExhaustedError } from "../core/errors.js";
import { totalTokens } from "../core/types.js";
import { invalidRequest } from "./errors.js";

export interface RequestCaps {
  maxSamples: number;
  maxTokens: number;
  maxTokensPerSample: number;
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
  const refuse = (message: string) => {
    if (samples === 0)
      return invalidRequest(
        `${message}: this request's strategy options ask for more than this server allows per request`,
        "reckon",
        "request_over_limit",
      );
    return new RequestCapReached(message);
  };
  return (next) =>
    forwardBackend(next, {
      async generate(request) {
        const n = Math.max(1, request.n);
        if (samples + n > caps.maxSamples)
          throw refuse(
            `a call for ${n} more samples after ${samples} would pass the limit of ${caps.maxSamples} samples per request`,
          );
        if (tokens >= caps.maxTokens)
          throw refuse(`the request has spent its limit of ${caps.maxTokens} tokens`);
        samples += n;
        const maxTokens = Math.min(request.maxTokens ?? caps.maxTokensPerSample, caps.maxTokensPerSample);
        try {
          const response = await next.generate({ ...request, maxTokens });
          tokens += totalTokens(response.usage) + (response.usage.cachedPromptTokens ?? 0);
          return response;
        } catch (error) {
          if (error instanceof AbortedError && error.partial)
            tokens += totalTokens(error.partial.usage) + (error.partial.usage.cachedPromptTokens ?? 0);
          throw error;
        }
      },
    });
}
