/**
 * Sequential voting shared by the early-stopping strategies (`esc`, `adaptive-consistency`):
 * samples are drawn window after window and a stopping rule, a pure function of the votes so
 * far, decides after each window whether more samples can still change the answer.
 */

import { leadingCounts, majoritySettledProbability, selectAnswer } from "../core/selection.js";
import type { AnswerTally, Candidate, Problem, StopReason, Task } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { drawCandidates } from "./sampling.js";
import type { StrategyContext } from "./strategy.js";

export { leadingCounts, majoritySettledProbability };

/**
 * Early-Stopping Self-Consistency (Li et al. 2024): a window agrees when every sample in it
 * states the same answer. A sample without an answer never agrees, so a window of failures
 * does not stop the search.
 */
export function windowAgrees(window: readonly Candidate[], task: Task): boolean {
  const first = window[0]?.answer;
  if (first === undefined) return false;
  return window.every((c) => c.answer !== undefined && task.equivalent(first, c.answer));
}

/** Says why to stop after a window, or undefined to draw another. */
export type StoppingRule = (
  candidates: readonly Candidate[],
  window: readonly Candidate[],
) => string | undefined;

export interface SequentialDraw {
  /** The majority of every sample drawn, and the sample that stands for it. */
  answer: string | undefined;
  chosen: number | undefined;
  candidates: Candidate[];
  tally: AnswerTally[];
  stopReason: StopReason;
  detail: {
    samples: number;
    windows: number;
    tokens: number;
    completionTokens: number;
    maxSamples: number;
    stoppedBecause: string;
  };
}

/**
 * Draws `windowSize` samples at a time (one backend call each) until the rule says stop,
 * `maxSamples` are drawn, or the budget runs out; the answer is the majority of all samples.
 */
export async function drawUntilSettled(
  problem: Problem,
  ctx: StrategyContext,
  settings: { windowSize: number; maxSamples: number; rule: StoppingRule },
): Promise<SequentialDraw> {
  const { windowSize, maxSamples, rule } = settings;
  const spentBefore = ctx.meter.usage;
  const candidates: Candidate[] = [];
  let windows = 0;
  let stopReason: StopReason = "completed";
  let stoppedBecause = `drew the maximum of ${maxSamples} samples`;
  while (candidates.length < maxSamples) {
    const drawn = await drawCandidates(problem, ctx, Math.min(windowSize, maxSamples - candidates.length));
    candidates.push(...drawn.candidates);
    windows += 1;
    if (drawn.stopReason !== "completed") {
      stopReason = drawn.stopReason;
      stoppedBecause = "the budget ran out";
      break;
    }
    const reason = rule(candidates, drawn.candidates);
    if (reason !== undefined) {
      if (candidates.length < maxSamples) {
        stopReason = "early-stop";
        ctx.trace.emit({ kind: "stopped-early", text: reason, data: { samples: candidates.length } });
      }
      stoppedBecause = reason;
      break;
    }
  }
  const { answer, tally, chosen } = selectAnswer(candidates, problem.task, "majority");
  ctx.trace.emit({ kind: "voted", data: { tally } });
  const spent = ctx.meter.usage;
  return {
    answer,
    chosen,
    candidates,
    tally,
    stopReason,
    detail: {
      samples: candidates.length,
      windows,
      tokens: totalTokens(spent) - totalTokens(spentBefore),
      completionTokens: spent.completionTokens - spentBefore.completionTokens,
      maxSamples,
      stoppedBecause,
    },
  };
}
