import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import type { Candidate, StopReason } from "../core/types.js";
import { generateWithHistory, revisionPrompt } from "./revision-prompts.js";
import { toCandidate } from "./sampling.js";
import { scoreCandidates } from "./scoring.js";
import { selectAnswer } from "./steps.js";
import { defineStrategy } from "./strategy.js";

const revisionsOptions = z
  .object({
    n: z.number().int().min(1).max(1024).default(8).describe("attempts in all (chains × attempts per chain)"),
    chains: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(1)
      .describe("parallel chains of sequential revisions; n/chains attempts each"),
    window: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(4)
      .describe("earlier attempts of its chain each revision sees"),
    select: z
      .enum(["majority", "best", "weighted-majority", "last"])
      .default("majority")
      .describe(
        "the answer across all attempts: vote, best-scored, score-weighted vote (verifier), or each chain's last",
      ),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.n % options.chains !== 0)
      ctx.addIssue({
        code: "custom",
        path: ["chains"],
        message: `n (${options.n}) must be divisible by chains (${options.chains})`,
      });
  });

/**
 * Sequential revisions (Snell et al. 2024): each attempt sees the earlier attempts of its
 * chain and tries again; `chains` > 1 runs that many chains side by side, the parallel ×
 * sequential mix whose best ratio depends on difficulty. The answer is voted (or picked by a
 * verifier) across every attempt. Prompts that outgrow the model's context keep fewer
 * earlier attempts.
 */
export const revisions = defineStrategy({
  name: "revisions",
  description:
    "Sequential revisions: each attempt sees earlier ones; `chains` parallel chains; vote or verifier across all attempts.",
  options: revisionsOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    if ((options.select === "best" || options.select === "weighted-majority") && !ctx.verifier)
      throw new InvalidInputError(
        "strategy options.select",
        `"${options.select}" needs a verifier`,
        "pass --verifier NAME, or select majority",
      );
    const length = options.n / options.chains;
    const chains: { attempts: Candidate[]; lastId?: number }[] = Array.from(
      { length: options.chains },
      () => ({
        attempts: [],
      }),
    );
    let stopReason: StopReason = "completed";
    // One chain answering with its last attempt: that attempt is the answer before it begins,
    // so it streams to the caller as it is decoded.
    const streamsLast = options.select === "last" && options.chains === 1 && ctx.answerStream;
    try {
      for (let step = 0; step < length; step++) {
        const call = streamsLast && step === length - 1 ? { onToken: streamsLast } : {};
        // Every chain takes its next step at once, so an engine can decode them together.
        const settled = await Promise.allSettled(
          chains.map(async (chain) => {
            const earlier = chain.attempts.slice(-options.window).map((a) => a.text);
            const drawn = await generateWithHistory(
              ctx,
              (kept) => revisionPrompt(problem, earlier.slice(earlier.length - kept)),
              earlier.length,
              call,
            );
            return { chain, drawn };
          }),
        );
        let budget: BudgetExhaustedError | undefined;
        for (const outcome of settled) {
          if (outcome.status === "rejected") {
            if (outcome.reason instanceof BudgetExhaustedError) budget = outcome.reason;
            else throw outcome.reason;
            continue;
          }
          const { chain, drawn } = outcome.value;
          const candidate = toCandidate(problem, drawn.completion);
          chain.attempts.push(candidate);
          chain.lastId = ctx.trace.emit({
            kind: step === 0 ? "sample" : "revised",
            parent: chain.lastId,
            text: candidate.text,
            tokens: candidate.tokens,
            data: { attempt: step + 1, sawAttempts: drawn.kept },
          });
        }
        if (budget) throw budget;
      }
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      stopReason = "budget";
    }
    let candidates = chains.flatMap((c) => c.attempts);
    if (options.select === "best" || options.select === "weighted-majority")
      candidates = await scoreCandidates(problem, ctx, candidates);
    // Where each chain's last attempt sits among the candidates (chain after chain).
    const finalAt: number[] = [];
    let offset = 0;
    for (const chain of chains) {
      offset += chain.attempts.length;
      if (chain.attempts.length > 0) finalAt.push(offset - 1);
    }
    const finals = finalAt.map((i) => candidates[i]!);
    const { answer, tally, chosen } =
      options.select === "last"
        ? selectAnswer(problem, finals, "majority")
        : selectAnswer(problem, candidates, options.select);
    return {
      answer,
      candidates,
      tally,
      chosen: options.select === "last" && chosen !== undefined ? finalAt[chosen] : chosen,
      stopReason,
      detail: { chains: options.chains, attemptsPerChain: length, attempts: candidates.length },
    };
  },
});
