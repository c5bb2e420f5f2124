import { selectAnswer } from "../core/selection.js";
import { drawCandidates, sampleCountOptions } from "./sampling.js";
import { defineStrategy } from "./strategy.js";

/** Self-consistency (Wang et al. 2022): sample n solutions, answer with the most frequent answer. */
export const selfConsistency = defineStrategy({
  name: "self-consistency",
  description: "Sample n solutions and take the majority answer (ties: earliest answer in sample order).",
  options: sampleCountOptions,
  needsVerifier: false,
  selection: "majority",
  fromPool: {
    metric: "maj@k",
    samples: ({ n }) => n,
    select: (candidates, task) => selectAnswer(candidates, task, "majority").answer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawCandidates(problem, ctx, n, batchSize);
    const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "majority");
    ctx.trace.emit({ kind: "voted", data: { tally } });
    return { answer, candidates, tally, chosen, stopReason };
  },
});
