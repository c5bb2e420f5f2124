import { z } from "zod";
import { AbortedError, BudgetExhaustedError } from "../core/errors.js";
import { selectAnswer } from "../core/selection.js";
import type { Candidate, Completion, StopReason } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { toCandidate } from "./sampling.js";
import { defineStrategy } from "./strategy.js";

export const firstFinishOptions = z
  .object({
    n: z.number().int().min(1).max(1024).default(8).describe("samples started at once"),
    k: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe("finished samples to wait for; more than one are voted on"),
    requireAnswer: z.boolean().default(true).describe("count only samples that state an answer"),
  })
  .strict()
  .refine((o) => o.k <= o.n, { message: "k exceeds n", path: ["k"] });

/**
 * First Finish Search: start n samples in one call and answer with the first to finish (or
 * vote among the first k); the call is then cancelled at the backend, so the other samples stop
 * where they are. Short traces are also the more often right ones on reasoning tasks, and the
 * wait is for the fastest sample instead of the slowest. Every token spent, including those of
 * the cancelled samples, is metered from the cancellation's partial result.
 */
export const firstFinish = defineStrategy({
  name: "first-finish",
  description: "Start n samples, keep the first k that finish (with an answer), cancel the rest.",
  options: firstFinishOptions,
  needsVerifier: false,
  async run(problem, ctx, { n, k, requireAnswer }) {
    const spentBefore = ctx.meter.usage;
    const cancel = new AbortController();
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, cancel.signal]) : cancel.signal;
    // Samples in the order they finished, as the backend reported them (some may finish in the
    // same step as the one that triggered the cancellation: they are kept, but do not vote).
    const finished: { candidate: Candidate; index: number }[] = [];
    const qualifies = (c: Candidate) => !requireAnswer || c.answer !== undefined;
    const onSample = (completion: Completion, index: number) => {
      const candidate = toCandidate(problem, completion);
      finished.push({ candidate, index });
      ctx.trace.emit({ kind: "sample", text: completion.text, tokens: completion.tokens, data: { index } });
      if (!cancel.signal.aborted && finished.filter((f) => qualifies(f.candidate)).length >= k)
        cancel.abort();
    };
    let stopReason: StopReason = "completed";
    let cutOff: Completion[] = [];
    try {
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        prompt: problem.prompt,
        n,
        signal,
        onSample,
      });
      // A backend that does not report samples as they finish (a replay file) returns them here.
      const reported = new Set(finished.map((f) => f.index));
      response.completions.forEach((completion, index) => {
        if (!reported.has(index)) finished.push({ candidate: toCandidate(problem, completion), index });
      });
    } catch (error) {
      if (error instanceof BudgetExhaustedError) stopReason = "budget";
      else if (error instanceof AbortedError && cancel.signal.aborted && !ctx.signal?.aborted) {
        stopReason = "early-stop";
        cutOff = (error.partial?.completions ?? []).filter((c) => c.finishReason === "aborted");
      } else throw error;
    }
    const winners = finished.filter((f) => qualifies(f.candidate)).slice(0, k);
    const vote = selectAnswer(
      winners.map((w) => w.candidate),
      problem.task,
      "majority",
    );
    const tally = vote.tally;
    if (stopReason === "early-stop")
      ctx.trace.emit({ kind: "stopped-early", text: `${winners.length} of ${n} samples finished first` });
    ctx.trace.emit({ kind: "voted", data: { tally } });
    const spent = ctx.meter.usage;
    // Cut-off samples are kept (without an answer) so that what they cost stays visible.
    const candidates = [
      ...finished.map((f) => f.candidate),
      ...cutOff.map((c) => ({ ...c, answer: undefined })),
    ];
    // Finished samples lead the candidates in the order they finished: the winner's place is its
    // place among them. Without a winner, the first to finish (else a cut-off one) stands in.
    const winner = vote.chosen === undefined ? undefined : finished.indexOf(winners[vote.chosen]!);
    return {
      answer: vote.answer,
      candidates,
      tally,
      stopReason,
      chosen: winner ?? (candidates.length > 0 ? 0 : undefined),
      detail: {
        samples: n,
        finished: finished.length,
        // Started but never finished: cut off mid-way, or still queued or in flight at a server.
        cancelled: n - finished.length,
        winners: winners.map((w) => w.index),
        tokens: totalTokens(spent) - totalTokens(spentBefore),
        completionTokens: spent.completionTokens - spentBefore.completionTokens,
        stoppedBecause:
          stopReason === "early-stop"
            ? `${winners.length} of ${n} samples finished first; ${n - finished.length} were cancelled`
            : stopReason === "budget"
              ? "the budget ran out"
              : "every sample finished before enough had an answer",
      },
    };
  },
});
