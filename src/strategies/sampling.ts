import { BudgetExhaustedError } from "../core/errors.js";
import type { Candidate, Completion, Problem, StopReason } from "../core/types.js";
import type { StrategyContext } from "./strategy.js";

export interface DrawnCandidates {
  candidates: Candidate[];
  stopReason: StopReason;
}

export function toCandidate(problem: Problem, completion: Completion): Candidate {
  return {
    text: completion.text,
    answer: problem.task.extractAnswer(completion.text),
    tokens: completion.tokens,
    finishReason: completion.finishReason,
  };
}

/**
 * Draws up to `n` samples, `batchSize` per backend call. When the budget runs out between
 * calls it returns what it has, with stopReason "budget", instead of failing.
 */
export async function drawCandidates(
  problem: Problem,
  ctx: StrategyContext,
  n: number,
  batchSize = n,
): Promise<DrawnCandidates> {
  const candidates: Candidate[] = [];
  while (candidates.length < n) {
    const count = Math.min(batchSize, n - candidates.length);
    try {
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        // Distinct, reproducible seeds per batch so batches do not repeat each other.
        seed: ctx.sampling.seed === undefined ? undefined : ctx.sampling.seed + candidates.length,
        prompt: problem.prompt,
        n: count,
        signal: ctx.signal,
      });
      const drawn = response.completions.map((c) => toCandidate(problem, c));
      candidates.push(...drawn);
      ctx.trace({
        type: "sampled",
        count: drawn.length,
        tokens: response.usage.completionTokens,
        at: Date.now(),
      });
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      ctx.trace({ type: "budget-exhausted", limit: error.limit, at: Date.now() });
      return { candidates, stopReason: "budget" };
    }
  }
  return { candidates, stopReason: "completed" };
}
