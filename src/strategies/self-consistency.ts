import { drawCandidates, sampleCountOptions } from "./sampling.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

/** Self-consistency (Wang et al. 2022): sample n solutions, answer with the most frequent answer. */
export const selfConsistency = defineStrategy({
  name: "self-consistency",
  description: "Sample n solutions and take the majority answer (ties: earliest answer in sample order).",
  options: sampleCountOptions,
  needsVerifier: false,
  fromPool: {
    metric: "maj@k",
    samples: ({ n }) => n,
    select: (candidates, task) => tallyAnswers(candidates, task)[0]?.answer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawCandidates(problem, ctx, n, batchSize);
    const tally = tallyAnswers(candidates, problem.task);
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return { answer: tally[0]?.answer, candidates, tally, stopReason };
  },
});
