import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { latestAnsweredIndex } from "../core/selection.js";
import type { Candidate, StopReason } from "../core/types.js";
import { critiquePrompt, generateWithHistory, promptTooLong, refinePrompt } from "./revision-prompts.js";
import { toCandidate } from "./sampling.js";
import { scoreCandidates } from "./scoring.js";
import { selectAnswer } from "./steps.js";
import { defineStrategy } from "./strategy.js";

const selfRefineOptions = z
  .object({
    maxRounds: z.number().int().min(0).max(32).default(3).describe("critique-and-refine rounds at most"),
    critiqueTokens: z.number().int().min(1).max(8192).default(256).describe("tokens of one critique at most"),
    stopPhrase: z
      .string()
      .min(1)
      .default("(solution|answer) is correct|no (mistakes|errors)")
      .refine((p) => {
        try {
          new RegExp(p, "i");
          return true;
        } catch {
          return false;
        }
      }, "must be a valid regular expression")
      .describe("a critique matching this (case-insensitive regular expression) ends the loop"),
    stopWhenUnchanged: z.boolean().default(true).describe("stop when a refinement keeps the answer"),
    select: z
      .enum(["last", "best", "majority"])
      .default("last")
      .describe(
        "the answer: the latest attempt that has one, the best-scored (needs a verifier), or the vote",
      ),
  })
  .strict();

/**
 * Self-Refine (Madaan et al. 2023): answer, ask the model to critique its answer, ask it to
 * refine the answer given the critique, and repeat until the critique finds nothing wrong,
 * the answer stops changing, or the rounds run out. A prompt too long for the model's context
 * ends the loop with what it has (small models).
 */
export const selfRefine = defineStrategy({
  name: "self-refine",
  description:
    "Answer, then critique and refine the answer with the same model until the critique finds no mistake.",
  options: selfRefineOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    if (options.select === "best" && !ctx.verifier)
      throw new InvalidInputError(
        "strategy options.select",
        '"best" needs a verifier',
        "pass --verifier NAME",
      );
    const stopPattern = new RegExp(options.stopPhrase, "i");
    const attempts: Candidate[] = [];
    let stopReason: StopReason = "completed";
    let why = "rounds";
    let previousId: number | undefined;
    try {
      const first = await generateWithHistory(ctx, () => problem.prompt, 0);
      attempts.push(toCandidate(problem, first.completion));
      previousId = ctx.trace.emit({
        kind: "sample",
        text: first.completion.text,
        tokens: first.completion.tokens,
      });
      for (let round = 0; round < options.maxRounds; round++) {
        const last = attempts[attempts.length - 1]!;
        let feedback: string;
        try {
          const critique = await generateWithHistory(
            ctx,
            () => critiquePrompt(problem, last.text),
            0,
            options.critiqueTokens,
          );
          feedback = critique.completion.text;
        } catch (error) {
          if (!promptTooLong(error)) throw error;
          why = "critique does not fit the context";
          break;
        }
        ctx.trace.emit({ kind: "scored", parent: previousId, text: feedback, data: { critique: true } });
        if (stopPattern.test(feedback)) {
          why = "critique found no mistake";
          stopReason = "early-stop";
          break;
        }
        const refined = await generateWithHistory(
          ctx,
          (kept) => (kept > 0 ? refinePrompt(problem, last.text, feedback) : problem.prompt),
          1,
        );
        const candidate = toCandidate(problem, refined.completion);
        attempts.push(candidate);
        previousId = ctx.trace.emit({
          kind: "revised",
          parent: previousId,
          text: candidate.text,
          tokens: candidate.tokens,
          data: { round: round + 1, sawFeedback: refined.kept > 0 },
        });
        if (
          options.stopWhenUnchanged &&
          candidate.answer !== undefined &&
          last.answer !== undefined &&
          problem.task.equivalent(candidate.answer, last.answer)
        ) {
          why = "answer unchanged";
          stopReason = "early-stop";
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      stopReason = "budget";
      why = "budget";
    }
    const candidates = options.select === "best" ? await scoreCandidates(problem, ctx, attempts) : attempts;
    // "last": the latest attempt that states an answer (none does: the latest attempt); the
    // tally still shows every attempt's vote.
    const selected = selectAnswer(
      problem,
      candidates,
      options.select === "last" ? "majority" : options.select,
    );
    const latest = latestAnsweredIndex(candidates);
    const chosen = options.select === "last" ? latest : selected.chosen;
    return {
      answer:
        options.select === "last"
          ? latest === undefined
            ? undefined
            : candidates[latest]!.answer
          : selected.answer,
      candidates,
      tally: selected.tally,
      chosen,
      stopReason,
      detail: { rounds: attempts.length - 1, stoppedBecause: why },
    };
  },
});
