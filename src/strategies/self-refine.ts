import { z } from "zod";
import { BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { finalIndex, latestAnsweredIndex } from "../core/selection.js";
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
      .enum(["last", "last-answered", "best", "majority"])
      .default("last")
      .describe(
        "the answer: the final attempt (streams as it is written), the latest attempt that states an answer, the best-scored (needs a verifier), or the vote",
      ),
  })
  .strict();

/**
 * Self-Refine (Madaan et al. 2023): answer, ask the model to critique its answer, ask it to
 * refine the answer given the critique, and repeat until the critique finds nothing wrong,
 * the answer stops changing, or the rounds run out. A prompt too long for the model's context
 * ends the loop with what it has (small models). With "last", as in the paper, the answer is
 * the final attempt whatever it says, so the last round's pass, final before it begins,
 * streams to the caller as it is written.
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
      // The pass that is the answer before it begins: streamed to the caller as it is decoded.
      const answerStream = (isFinal: boolean) =>
        isFinal && options.select === "last" && ctx.answerStream ? { onToken: ctx.answerStream } : {};
      const first = await generateWithHistory(
        ctx,
        () => problem.prompt,
        0,
        answerStream(options.maxRounds === 0),
      );
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
          const critique = await generateWithHistory(ctx, () => critiquePrompt(problem, last.text), 0, {
            maxTokens: options.critiqueTokens,
          });
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
          answerStream(round === options.maxRounds - 1),
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
    // "last" and "last-answered" name an attempt by its place; the tally still shows every
    // attempt's vote.
    const { select } = options;
    const byPlace =
      select === "last" ? finalIndex : select === "last-answered" ? latestAnsweredIndex : undefined;
    const selected = selectAnswer(
      problem,
      candidates,
      select === "last" || select === "last-answered" ? "majority" : select,
    );
    const chosen = byPlace ? byPlace(candidates) : selected.chosen;
    return {
      answer: byPlace ? (chosen === undefined ? undefined : candidates[chosen]!.answer) : selected.answer,
      candidates,
      tally: selected.tally,
      chosen,
      stopReason,
      detail: { rounds: attempts.length - 1, stoppedBecause: why },
    };
  },
});
