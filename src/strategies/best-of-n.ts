import type { Candidate } from "../core/types.js";
import { sampleCountOptions } from "./sampling.js";
import { drawScoredCandidates } from "./scoring.js";
import { defineStrategy } from "./strategy.js";
import { bestScoredIndex, tallyAnswers } from "./vote.js";

const topScoredAnswer = (candidates: readonly Candidate[]) =>
  candidates[bestScoredIndex(candidates) ?? -1]?.answer;

/** Best-of-n: sample n solutions, score each with the verifier, answer with the top-scored one. */
export const bestOfN = defineStrategy({
  name: "best-of-n",
  description: "Sample n solutions and answer with the one the verifier rates highest (ties: earliest).",
  options: sampleCountOptions,
  needsVerifier: true,
  fromPool: {
    metric: "rm@k",
    samples: ({ n }) => n,
    select: topScoredAnswer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawScoredCandidates(problem, ctx, n, batchSize);
    return {
      answer: topScoredAnswer(candidates),
      candidates,
      // The best score of each answer, so the user sees how close the runner-up was.
      tally: tallyAnswers(candidates, problem.task, (c) => c.score ?? 0, "max"),
      stopReason,
    };
  },
});
