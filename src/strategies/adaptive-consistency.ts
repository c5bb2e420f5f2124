import { z } from "zod";
import { drawUntilSettled, leadingCounts, majoritySettledProbability } from "./adaptive-stopping.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

export const adaptiveConsistencyOptions = z
  .object({
    threshold: z
      .number()
      .gt(0.5)
      .lt(1)
      .default(0.95)
      .describe("stop when P(leading answer's share > runner-up's) reaches this"),
    windowSize: z.number().int().min(1).max(256).default(4).describe("samples drawn between checks"),
    minSamples: z.number().int().min(1).default(4).describe("samples before the first check"),
    maxSamples: z.number().int().min(1).max(4096).default(64).describe("samples at most"),
  })
  .strict();

/**
 * Adaptive-Consistency (Aggarwal et al. 2023): keep sampling until a Beta posterior over the
 * two leading answers says the majority is settled, i.e. more samples would very probably not
 * change it.
 */
export const adaptiveConsistency = defineStrategy({
  name: "adaptive-consistency",
  description:
    "Self-consistency that stops once a Beta posterior says the leading answer stays ahead (at most maxSamples).",
  options: adaptiveConsistencyOptions,
  needsVerifier: false,
  sampleBudget: "maxSamples",
  async run(problem, ctx, { threshold, windowSize, minSamples, maxSamples }) {
    const drawn = await drawUntilSettled(problem, ctx, {
      windowSize,
      maxSamples,
      rule: (all) => {
        if (all.length < minSamples) return undefined;
        const { top, second } = leadingCounts(tallyAnswers(all, problem.task));
        if (top === 0) return undefined;
        const settled = majoritySettledProbability(top, second);
        return settled >= threshold
          ? `majority settled: ${top} to ${second}, P = ${settled.toFixed(3)} >= ${threshold}`
          : undefined;
      },
    });
    return drawn;
  },
});
