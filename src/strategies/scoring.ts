import { InvalidInputError } from "../core/errors.js";
import type { Candidate, Problem } from "../core/types.js";
import { type DrawnCandidates, drawCandidates } from "./sampling.js";
import type { StrategyContext } from "./strategy.js";

/** Scores candidates with the context's verifier and returns them with `score` set. */
export async function scoreCandidates(
  problem: Problem,
  ctx: StrategyContext,
  candidates: readonly Candidate[],
): Promise<Candidate[]> {
  if (!ctx.verifier)
    throw new InvalidInputError("verifier", "this strategy needs a verifier", "pass --verifier NAME");
  if (candidates.length === 0) return [];
  const scores = await ctx.verifier.score(problem, candidates, ctx.verifierContext);
  ctx.trace.emit({ kind: "scored", data: { scores } });
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
