import { drawCandidates, sampleCountOptions } from "./sampling.js";
import { scoreCandidates } from "./scoring.js";
import { defineStrategy } from "./strategy.js";
import { bestScoredIndex, tallyAnswers } from "./vote.js";

/** Best-of-n: sample n solutions, score each with the verifier, answer with the top-scored one. */
export const bestOfN = defineStrategy({
  name: "best-of-n",
  description: "Sample n solutions and answer with the one the scorer rates highest (ties: earliest).",
  options: sampleCountOptions,
  needsScorer: true,
  async run(problem, ctx, { n, batchSize }) {
    const drawn = await drawCandidates(problem, ctx, n, batchSize);
    const candidates = await scoreCandidates(problem, ctx, drawn.candidates);
    const best = bestScoredIndex(candidates);
    return {
      answer: best === undefined ? undefined : candidates[best]!.answer,
      candidates,
      // The best score of each answer, so the user sees how close the runner-up was.
      tally: tallyAnswers(candidates, problem.task, (c) => c.score ?? 0).map((t) => ({
        ...t,
        score: Math.max(
          ...candidates
            .filter((c) => c.answer !== undefined && problem.task.equivalent(c.answer, t.answer))
            .map((c) => c.score ?? 0),
        ),
      })),
      usage: ctx.meter.usage,
      stopReason: drawn.stopReason,
      strategy: "best-of-n",
    };
  },
});
