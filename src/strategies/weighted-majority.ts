import { selectAnswer } from "../core/selection.js";
import { sampleCountOptions } from "./sampling.js";
import { drawScoredCandidates } from "./scoring.js";
import { defineStrategy } from "./strategy.js";

/** Weighted majority (Li et al. 2023, "weighted self-consistency"): votes weighted by verifier score. */
export const weightedMajority = defineStrategy({
  name: "weighted-majority",
  description: "Sample n solutions, score each, and take the answer with the largest summed score.",
  options: sampleCountOptions,
  needsVerifier: true,
  selection: "weighted-majority",
  fromPool: {
    metric: "wmaj@k",
    samples: ({ n }) => n,
    select: (candidates, task) => selectAnswer(candidates, task, "weighted-majority").answer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawScoredCandidates(problem, ctx, n, batchSize);
    const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "weighted-majority");
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return { answer, candidates, tally, chosen, stopReason };
  },
});
