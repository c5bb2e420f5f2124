import { z } from "zod";
import type { TokenEvent } from "../core/backend.js";
import { BudgetExhaustedError } from "../core/errors.js";
import type { Candidate, Completion, Problem, StopReason } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import type { StrategyContext } from "./strategy.js";

/** Options of every strategy that draws a fixed number of samples. */
export const sampleCountOptions = z
  .object({
    n: z.number().int().min(1).max(1024).default(8).describe("samples to draw"),
    batchSize: z.number().int().min(1).optional().describe("samples per backend call (default: all n)"),
  })
  .strict();

export interface DrawnCandidates {
  candidates: Candidate[];
  stopReason: StopReason;
}

export function toCandidate(problem: Problem, completion: Completion): Candidate {
  return { ...completion, answer: problem.task.extractAnswer(completion.text) };
}

/**
 * Draws up to `n` samples, at most `batchSize` per backend call. Under a token budget it
 * first draws one sample to learn what a sample costs, then asks only for as many as the
 * rest of the budget pays for, so samples are never cut short by the budget; when the budget
 * runs out it returns what it has, with stopReason "budget".
 */
export async function drawCandidates(
  problem: Problem,
  ctx: StrategyContext,
  n: number,
  batchSize = n,
  /** Text of the samples as it is decoded (a strategy streaming its answer). */
  onToken?: (event: TokenEvent) => void,
): Promise<DrawnCandidates> {
  const candidates: Candidate[] = [];
  const spentBefore = totalTokens(ctx.meter.usage);
  while (candidates.length < n) {
    let count = Math.min(batchSize, n - candidates.length);
    const remaining = ctx.budget.remainingTokens();
    if (remaining !== undefined) {
      const perSample =
        candidates.length === 0
          ? remaining
          : (totalTokens(ctx.meter.usage) - spentBefore) / candidates.length;
      count = Math.min(count, Math.floor(remaining / perSample));
      if (count === 0) return stopForBudget(ctx, candidates, "tokens");
    }
    try {
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        prompt: problem.prompt,
        n: count,
        signal: ctx.signal,
        ...(onToken ? { onToken } : {}),
      });
      const drawn = response.completions.map((c) => toCandidate(problem, c));
      for (const c of drawn) ctx.trace.emit({ kind: "sample", text: c.text, tokens: c.tokens });
      candidates.push(...drawn);
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      return stopForBudget(ctx, candidates, error.limit);
    }
  }
  return { candidates, stopReason: "completed" };
}

function stopForBudget(ctx: StrategyContext, candidates: Candidate[], limit: string): DrawnCandidates {
  ctx.trace.emit({ kind: "budget-exhausted", text: limit });
  return { candidates, stopReason: "budget" };
}
