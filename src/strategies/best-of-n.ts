import { selectAnswer } from "../core/selection.js";
import { sampleCountOptions } from "./sampling.js";
import { drawScoredCandidates } from "./scoring.js";
import { defineStrategy } from "./strategy.js";

/** Best-of-n: sample n solutions, score each with the verifier, answer with the top-scored one. */
export const bestOfN = defineStrategy({
  name: "best-of-n",
  description: "Sample n solutions and answer with the one the verifier rates highest (ties: earliest).",
  options: sampleCountOptions,
  needsVerifier: true,
  selection: "best",
  fromPool: {
    metric: "rm@k",
    samples: ({ n }) => n,
    select: (candidates, task) => selectAnswer(candidates, task, "best").answer,
  },
  async run(problem, ctx, { n, batchSize }) {
    const { candidates, stopReason } = await drawScoredCandidates(problem, ctx, n, batchSize);
    // The tally keeps the best score of each answer, so the user sees how close the runner-up was.
    const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "best");
    return { answer, candidates, tally, chosen, stopReason };
  },
});
