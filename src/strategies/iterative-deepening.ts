import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { selectAnswer } from "../core/selection.js";
import type { Candidate, StopReason } from "../core/types.js";
import { defineStrategy } from "./strategy.js";

const iterativeDeepeningOptions = z
  .object({
    strategy: z
      .string()
      .default("self-consistency")
      .describe("the sampling strategy each round runs (one that takes n)"),
    start: z.number().int().min(1).max(1024).default(2).describe("samples in the first round"),
    growth: z
      .number()
      .min(1.1)
      .max(16)
      .default(2)
      .describe("each round's total is this times the previous one"),
    maxN: z.number().int().min(1).max(4096).default(32).describe("samples in all, at most"),
    agreement: z
      .number()
      .gt(0)
      .max(1)
      .default(0.75)
      .describe(
        "stop when the leading answer has this share of the votes (or of the score, with a verifier)",
      ),
    minVotes: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe("votes the leading answer needs before a round may stop"),
  })
  .strict();

/**
 * Iterative deepening over sample budgets (after Chen et al. 2025, "Iterative Deepening
 * Sampling"): run a cheap round, check whether the samples agree, and only if they do not
 * draw more (the round's total grows by `growth`), up to `maxN`. Easy questions stop early
 * and cheaply; hard ones get the whole budget. Rounds run the named strategy through
 * `ctx.runStrategy`, and the check votes over every sample drawn so far.
 */
export const iterativeDeepening = defineStrategy({
  name: "iterative-deepening",
  description:
    "Rounds of growing sample budgets with a self-consistency check between them; stops once the answers agree.",
  options: iterativeDeepeningOptions,
  needsVerifier: false,
  sampleBudget: "maxN",
  async run(problem, ctx, options) {
    const inner = ctx.strategy(options.strategy);
    const shape = (inner.options as { shape?: Record<string, unknown> }).shape;
    if (inner.name === "iterative-deepening" || !shape || !("n" in shape))
      throw new InvalidInputError(
        "strategy options.strategy",
        `"${options.strategy}" does not take a sample count n`,
        "use self-consistency, best-of-n or weighted-majority",
      );
    if (inner.needsVerifier && !ctx.verifier)
      throw new InvalidInputError(
        "verifier",
        `strategy "${inner.name}" needs a verifier`,
        "pass --verifier NAME",
      );
    const scored = inner.needsVerifier;
    // Pooled rounds are selected as the inner strategy selects; votes decide when to stop.
    const rule = inner.selection ?? (scored ? "weighted-majority" : "majority");
    const agreementRule = scored ? "weighted-majority" : "majority";
    const pool: Candidate[] = [];
    let stopReason: StopReason = "completed";
    let rounds = 0;
    let target = Math.min(options.start, options.maxN);
    for (;;) {
      const more = target - pool.length;
      rounds += 1;
      try {
        const round = await ctx.runStrategy(inner.name, problem, { n: more }, { label: `round ${rounds}` });
        pool.push(...round.candidates);
        if (round.stopReason === "budget") {
          stopReason = "budget";
          break;
        }
      } catch (error) {
        if (!(error instanceof BudgetExhaustedError)) throw error;
        stopReason = "budget";
        break;
      }
      const { tally } = selectAnswer(pool, problem.task, agreementRule);
      const lead = tally[0];
      const total = scored ? tally.reduce((s, t) => s + (t.score ?? 0), 0) : pool.length;
      const share = lead ? (scored ? (lead.score ?? 0) : lead.count) / Math.max(total, Number.EPSILON) : 0;
      ctx.trace.emit({ kind: "voted", data: { round: rounds, samples: pool.length, share } });
      if (lead && lead.count >= options.minVotes && share >= options.agreement) {
        if (pool.length < options.maxN) {
          stopReason = "early-stop";
          ctx.trace.emit({ kind: "stopped-early", data: { samples: pool.length, share } });
        }
        break;
      }
      if (pool.length >= options.maxN) break;
      target = Math.min(options.maxN, Math.max(pool.length + 1, Math.round(pool.length * options.growth)));
    }
    const { answer, tally, chosen } = selectAnswer(pool, problem.task, rule);
    return { answer, candidates: pool, tally, chosen, stopReason, detail: { rounds, samples: pool.length } };
  },
});
