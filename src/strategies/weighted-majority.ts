import { sampleCountOptions } from "./sampling.js";
import { drawScoredCandidates } from "./scoring.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

/** Weighted majority (Li et al. 2023, "weighted self-consistency"): votes weighted by verifier score. */
export const weightedMajority = defineStrategy({
  name: "weighted-majority",
  description: "Sample n solutions, score each, and take the answer with the largest summed score.",
  options: sampleCountOptions,
  needsVerifier: true,
  fromPool: {
    metric: "wmaj@k",
    samples: ({ n }) => n,
    select: (candidates, task) => tallyAnswers(candidates, task, (c) => c.score ?? 0)[0]?.answer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawScoredCandidates(problem, ctx, n, batchSize);
    const tally = tallyAnswers(candidates, problem.task, (c) => c.score ?? 0);
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return { answer: tally[0]?.answer, candidates, tally, stopReason };
  },
});
