import { z } from "zod";
import { BudgetExhaustedError } from "../core/errors.js";
import { finalIndex } from "../core/selection.js";
import type { Candidate, StopReason } from "../core/types.js";
import { codeProblemOf, runVisibleTests, type VisibleRun } from "./code-harness.js";
import { explainPrompt, feedbackMessage, repairPrompt } from "./code-prompts.js";
import { generateWithHistory, promptTooLong } from "./revision-prompts.js";
import { toCandidate } from "./sampling.js";
import { defineStrategy } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

const selfDebugOptions = z
  .object({
    maxRounds: z.number().int().min(0).max(16).default(3).describe("repair rounds at most (k)"),
    feedback: z
      .enum(["simple", "unit-test", "explanation"])
      .default("unit-test")
      .describe(
        "what a repair sees: that the code is wrong (simple), the failing example and its error (unit-test), or that after the model's own line-by-line explanation (explanation)",
      ),
    explanationTokens: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .default(512)
      .describe("tokens of one explanation at most (explanation feedback)"),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(5_000)
      .describe("wall-clock limit of one run of the visible tests in the sandbox"),
  })
  .strict();

const noCode: VisibleRun = {
  passed: false,
  checked: 0,
  feedback: "No code was found in the reply.",
  status: "error",
};

/**
 * Self-Debugging (Chen et al. 2023): draw a solution, run it on the examples of the problem's
 * docstring (the visible tests: the hidden tests decide correctness and are never run here), and
 * while it fails, show the model the feedback and ask for a repair, up to `maxRounds` times. The
 * answer is the first attempt that passes the visible tests, else the final attempt; the last
 * round's repair is thus the answer before it begins, and streams as it is written.
 */
export const selfDebug = defineStrategy({
  name: "self-debug",
  description:
    "Write code, run it on the prompt's examples in the sandbox, and repair it from the execution feedback until the examples pass.",
  options: selfDebugOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    const code = codeProblemOf(problem, "self-debug");
    const attempts: Candidate[] = [];
    const runs: VisibleRun[] = [];
    let stopReason: StopReason = "completed";
    let why = "rounds used up";
    try {
      // A pass known to be the answer before it begins (every earlier attempt failed, and no
      // round follows) streams to the caller as it is decoded.
      const answerStream = (isFinal: boolean) =>
        isFinal && ctx.answerStream ? { onToken: ctx.answerStream } : {};
      const first = await generateWithHistory(
        ctx,
        () => problem.prompt,
        0,
        answerStream(options.maxRounds === 0),
      );
      attempts.push(toCandidate(problem, first.completion));
      let parent = ctx.trace.emit({
        kind: "sample",
        text: first.completion.text,
        tokens: first.completion.tokens,
      });
      for (let round = 0; ; round++) {
        const current = attempts[attempts.length - 1]!;
        const run =
          current.answer === undefined
            ? noCode
            : await runVisibleTests(code, current.answer, {
                timeoutMs: options.timeoutMs,
                snippetTimeoutMs: options.timeoutMs,
                signal: ctx.signal,
              });
        runs.push(run);
        ctx.trace.emit({
          kind: "scored",
          parent,
          text: run.feedback,
          score: run.passed ? 1 : 0,
          data: { tests: "visible", passed: run.passed, examples: run.checked, status: run.status },
        });
        if (run.passed) {
          why = run.checked > 0 ? "visible tests passed" : "no visible example to check";
          if (round < options.maxRounds) stopReason = "early-stop";
          break;
        }
        if (round >= options.maxRounds) break;
        let explanation: string | undefined;
        try {
          if (options.feedback === "explanation") {
            const explained = await generateWithHistory(ctx, () => explainPrompt(problem, current.text), 0, {
              maxTokens: options.explanationTokens,
            });
            explanation = explained.completion.text;
            ctx.trace.emit({
              kind: "scored",
              parent,
              text: explanation,
              tokens: explained.completion.tokens,
              data: { explanation: true },
            });
          }
          const feedback = feedbackMessage(options.feedback, run.feedback);
          const repaired = await generateWithHistory(
            ctx,
            () => repairPrompt(problem, current.text, feedback, explanation),
            0,
            answerStream(round === options.maxRounds - 1),
          );
          attempts.push(toCandidate(problem, repaired.completion));
          parent = ctx.trace.emit({
            kind: "revised",
            parent,
            text: repaired.completion.text,
            tokens: repaired.completion.tokens,
            data: { round: round + 1, feedback: options.feedback, shown: feedback },
          });
        } catch (error) {
          if (!promptTooLong(error)) throw error;
          why = "repair prompt does not fit the context";
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof BudgetExhaustedError)) throw error;
      stopReason = "budget";
      why = "budget";
    }
    // The first attempt that passes the visible tests, else the final one (Chen et al.).
    const passing = attempts.findIndex(
      (_, i) => runs[i]?.passed === true && attempts[i]!.answer !== undefined,
    );
    const chosen = passing >= 0 ? passing : finalIndex(attempts);
    return {
      answer: chosen === undefined ? undefined : attempts[chosen]!.answer,
      candidates: attempts,
      tally: tallyAnswers(attempts, problem.task),
      chosen,
      stopReason,
      detail: {
        rounds: Math.max(0, attempts.length - 1),
        feedback: options.feedback,
        visiblePassed: passing >= 0,
        visibleExamples: Math.max(0, ...runs.map((r) => r.checked)),
        testRuns: runs.filter((r) => r !== noCode).length,
        stoppedBecause: why,
      },
    };
  },
});
