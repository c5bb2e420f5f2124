/**
 * The middleware every strategy's backend goes through: the budget is checked before each
 * call, and the usage of every call (cancelled ones included) is recorded after it.
 */
import { type Backend, type BackendMiddleware, forwardBackend, type GenerateResponse } from "./backend.js";
import type { Budget } from "./budget.js";
import { AbortedError, throwIfAborted } from "./errors.js";
import { asVerifierUsage, costOf, estimateFlops, type Meter, type Prices } from "./meter.js";
import type { Tracer } from "./trace.js";
import type { Usage } from "./types.js";

export interface MeteringOptions {
  meter: Meter;
  budget?: Budget;
  tracer?: Tracer;
  prices?: Prices;
  /** Verifier calls count as verifier tokens, not as the answer's. */
  role?: "generator" | "verifier";
}

/** Per-sample token cap when the caller sets none but a token budget is in force. */
export const defaultMaxTokensUnderBudget = 1024;

export function meteringMiddleware(options: MeteringOptions): BackendMiddleware {
  const { meter, budget, tracer, prices, role = "generator" } = options;
  return (next: Backend) => {
    const account = (usage: Usage): Usage => {
      let counted =
        next.parameterCount !== undefined
          ? { ...usage, flops: estimateFlops(next.parameterCount, usage) }
          : usage;
      if (role === "verifier") counted = asVerifierUsage(counted);
      if (prices) counted = { ...counted, costUsd: costOf(counted, prices) };
      meter.record(counted);
      return counted;
    };
    /** A failed call: a cancelled one still spent tokens, recorded before the failure goes on. */
    const failed = (error: unknown): Promise<never> => {
      if (error instanceof AbortedError && error.partial) account(error.partial.usage);
      return Promise.reject(error);
    };
    return forwardBackend(next, {
      // Not an async function: a call waits in the engine's frame, not in one of this layer's
      // own (a served request passes several layers).
      generate(request) {
        let pending: Promise<GenerateResponse>;
        try {
          throwIfAborted(request.signal);
          const exhausted = budget?.exhausted();
          if (exhausted) {
            tracer?.emit({ kind: "budget-exhausted", text: exhausted.limit });
            throw exhausted;
          }
          const remaining = budget?.remainingTokens();
          // No single call may overrun the token budget by more than its prompt.
          const maxTokens =
            remaining === undefined
              ? request.maxTokens
              : Math.max(
                  1,
                  Math.min(
                    request.maxTokens ?? defaultMaxTokensUnderBudget,
                    Math.floor(remaining / Math.max(1, request.n)),
                  ),
                );
          // Copied only when the cap changes it (a served request passes several layers).
          pending = next.generate(maxTokens === request.maxTokens ? request : { ...request, maxTokens });
        } catch (error) {
          return failed(error);
        }
        return pending.then((response) => {
          const usage = account(response.usage);
          tracer?.emit({
            kind: "call",
            tokens: response.usage.completionTokens,
            data: { n: request.n, role, promptTokens: response.usage.promptTokens },
          });
          return usage === response.usage ? response : { ...response, usage };
        }, failed);
      },
      ...(next.scorePrompt
        ? {
            async scorePrompt(request) {
              throwIfAborted(request.signal);
              const exhausted = budget?.exhausted();
              if (exhausted) throw exhausted;
              const scored = await next.scorePrompt!(request);
              return { ...scored, usage: account(scored.usage) };
            },
          }
        : {}),
    });
  };
}
