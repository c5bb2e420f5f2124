import { InvalidInputError } from "../core/errors.js";
import type { Candidate, Problem } from "../core/types.js";
import { type DrawnCandidates, drawCandidates } from "./sampling.js";
import type { StrategyContext } from "./strategy.js";

/** Scores candidates with the context's scorer and returns them with `score` set. */
export async function scoreCandidates(
  problem: Problem,
  ctx: StrategyContext,
  candidates: readonly Candidate[],
): Promise<Candidate[]> {
  if (!ctx.scorer)
    throw new InvalidInputError("scorer", "this strategy needs a scorer", "pass --scorer NAME");
  if (candidates.length === 0) return [];
  const scores = await ctx.scorer.score(problem, candidates, ctx.signal);
  ctx.trace({ type: "scored", scores, at: Date.now() });
  return candidates.map((candidate, i) => ({ ...candidate, score: scores[i] }));
}

/** Draws up to `n` samples and scores them: the first half of every verifier-guided method. */
export async function drawScoredCandidates(
  problem: Problem,
  ctx: StrategyContext,
  n: number,
  batchSize?: number,
): Promise<DrawnCandidates> {
  const drawn = await drawCandidates(problem, ctx, n, batchSize);
  return { ...drawn, candidates: await scoreCandidates(problem, ctx, drawn.candidates) };
}
