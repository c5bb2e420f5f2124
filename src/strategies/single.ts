import { z } from "zod";
import type { Candidate } from "../core/types.js";
import { drawCandidates } from "./sampling.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

const firstAnswer = (candidates: readonly Candidate[]) => candidates[0]?.answer;

/** One sample, its answer taken as is: the baseline every other method must beat. */
export const single = defineStrategy({
  name: "single",
  description: "One sample; its answer is the answer.",
  options: z.object({}).strict(),
  needsVerifier: false,
  fromPool: { metric: "pass@1", samples: () => 1, select: firstAnswer },
  // Not an async function: its draw is its whole work, and a served request waits in no frame of its own.
  run(problem, ctx) {
    // Its one sample is the answer, so its text can go to the caller as it is decoded.
    return drawCandidates(problem, ctx, 1, 1, ctx.answerStream).then(({ candidates, stopReason }) => ({
      answer: firstAnswer(candidates),
      candidates,
      tally: tallyAnswers(candidates, problem.task),
      stopReason,
      // Its one sample answers, with or without a stated answer.
      chosen: candidates.length > 0 ? 0 : undefined,
    }));
  },
});
