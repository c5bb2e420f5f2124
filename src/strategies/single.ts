import { z } from "zod";
import { drawCandidates } from "./sampling.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

/** One sample, its answer taken as is: the baseline every other method must beat. */
export const single = defineStrategy({
  name: "single",
  description: "One sample; its answer is the answer.",
  options: z.object({}).strict(),
  needsVerifier: false,
  fromPool: { metric: "maj@k", samples: () => 1 },
  async run(problem, ctx) {
    const { candidates, stopReason } = await drawCandidates(problem, ctx, 1);
    return {
      answer: candidates[0]?.answer,
      candidates,
      tally: tallyAnswers(candidates, problem.task),
      stopReason,
    };
  },
});
