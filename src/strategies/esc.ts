import { z } from "zod";
import { drawUntilSettled, windowAgrees } from "./adaptive-stopping.js";
import { defineStrategy } from "./strategy.js";

export const escOptions = z
  .object({
    windowSize: z.number().int().min(2).max(256).default(8).describe("samples per window"),
    maxSamples: z.number().int().min(1).max(4096).default(64).describe("samples at most"),
  })
  .strict();

/**
 * Early-Stopping Self-Consistency (Li et al. 2024): sample in windows and stop as soon as one
 * window's samples all give the same answer; the answer is the majority of every sample drawn.
 */
export const esc = defineStrategy({
  name: "esc",
  description:
    "Self-consistency in windows of samples; stops when every sample of a window agrees (at most maxSamples).",
  options: escOptions,
  needsVerifier: false,
  sampleBudget: "maxSamples",
  async run(problem, ctx, { windowSize, maxSamples }) {
    const drawn = await drawUntilSettled(problem, ctx, {
      windowSize,
      maxSamples,
      rule: (_all, window) =>
        window.length === windowSize && windowAgrees(window, problem.task)
          ? `a window of ${windowSize} samples agreed`
          : undefined,
    });
    return drawn;
  },
});
