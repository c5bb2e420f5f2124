import type { Backend, GenerateRequest, GenerateResponse } from "../backends/backend.js";
import type { Budget } from "./budget.js";
import { throwIfAborted } from "./errors.js";
import { addUsage, emptyUsage, type Usage } from "./types.js";

/** Adds up what backend calls cost. */
export class Meter {
  private total: Usage = emptyUsage();

  get usage(): Usage {
    return { ...this.total };
  }

  record(usage: Usage): void {
    this.total = addUsage(this.total, usage);
  }
}

/**
 * Forward FLOPs of a decoder: about 2 x parameters per processed token (Kaplan et al. 2020),
 * for prompt and generated tokens alike.
 */
export function estimateFlops(parameterCount: number, usage: Usage): number {
  return 2 * parameterCount * (usage.promptTokens + usage.completionTokens);
}

/**
 * Wraps a backend so that every call is checked against the budget first and reported to the
 * meter after; the strategy sees an ordinary backend.
 */
export function meteredBackend(backend: Backend, meter: Meter, budget?: Budget): Backend {
  return {
    id: backend.id,
    capabilities: backend.capabilities,
    parameterCount: backend.parameterCount,
    close: backend.close?.bind(backend),
    async generate(request: GenerateRequest): Promise<GenerateResponse> {
      throwIfAborted(request.signal);
      const exhausted = budget?.exhausted(meter.usage);
      if (exhausted) throw exhausted;
      const remaining = budget?.remainingTokens(meter.usage);
      // Never let one call overrun the token budget by more than its prompt.
      const maxTokens =
        remaining !== undefined
          ? Math.max(
              1,
              Math.min(request.maxTokens ?? remaining, Math.floor(remaining / Math.max(1, request.n))),
            )
          : request.maxTokens;
      const response = await backend.generate({ ...request, maxTokens });
      const usage =
        backend.parameterCount !== undefined
          ? { ...response.usage, flops: estimateFlops(backend.parameterCount, response.usage) }
          : response.usage;
      meter.record(usage);
      return { ...response, usage };
    },
  };
}
