import { z } from "zod";
import { addUsage, emptyUsage, type Usage } from "./types.js";

/** Prices per million tokens, to turn usage into money. */
export const pricesSchema = z
  .object({
    promptPerMillion: z.number().nonnegative(),
    completionPerMillion: z.number().nonnegative(),
    /** Verifier tokens (reward models, judges); default: the prompt price. */
    verifierPerMillion: z.number().nonnegative().optional(),
  })
  .strict();
export type Prices = z.infer<typeof pricesSchema>;

/**
 * Adds up what one scope spent. A child meter also reports to its parent, so a strategy's
 * usage counts only its own scope while the caller's counts everything beneath it.
 */
export class Meter {
  private total: Usage = emptyUsage();

  constructor(private readonly parent?: Meter) {}

  get usage(): Usage {
    return { ...this.total };
  }

  record(usage: Usage): void {
    this.total = addUsage(this.total, usage);
    this.parent?.record(usage);
  }
}

/**
 * Forward FLOPs of a decoder: about 2 x parameters per processed token (Kaplan et al. 2020),
 * for prompt and generated tokens alike.
 */
export function estimateFlops(parameterCount: number, usage: Usage): number {
  return 2 * parameterCount * (usage.promptTokens + usage.completionTokens);
}

export function costOf(usage: Usage, prices: Prices): number {
  return (
    (usage.promptTokens * prices.promptPerMillion +
      usage.completionTokens * prices.completionPerMillion +
      (usage.verifierTokens ?? 0) * (prices.verifierPerMillion ?? prices.promptPerMillion)) /
    1e6
  );
}

/** Generator usage re-labelled as verifier usage: a judge's tokens are not the answer's tokens. */
export function asVerifierUsage(usage: Usage): Usage {
  return {
    promptTokens: 0,
    completionTokens: 0,
    calls: 0,
    latencyMs: usage.latencyMs,
    estimated: usage.estimated,
    verifierTokens: usage.promptTokens + usage.completionTokens + (usage.verifierTokens ?? 0),
    verifierCalls: usage.calls + (usage.verifierCalls ?? 0),
  };
}
