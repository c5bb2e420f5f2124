/**
 * Sequential voting shared by the early-stopping strategies (`esc`, `adaptive-consistency`):
 * samples are drawn window after window and a stopping rule, a pure function of the votes so
 * far, decides after each window whether more samples can still change the answer.
 */
import type { AnswerTally, Candidate, Problem, StopReason, Task } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import { drawCandidates } from "./sampling.js";
import type { StrategyContext } from "./strategy.js";
import { tallyAnswers } from "./vote.js";

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

/** log C(n, k), exact enough for n up to millions. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

/**
 * Adaptive-Consistency's Beta criterion (Aggarwal et al. 2023): with `top` votes for the
 * leading answer and `second` for the runner-up, the posterior probability that the leader's
 * true share exceeds the runner-up's, P(p > 1/2) for p ~ Beta(top + 1, second + 1). For
 * integer parameters that is P(Binomial(top + second + 1, 1/2) <= top), summed exactly.
 */
export function majoritySettledProbability(top: number, second: number): number {
  if (top < 0 || second < 0) throw new RangeError("vote counts are non-negative");
  const trials = top + second + 1;
  let probability = 0;
  for (let k = 0; k <= top; k++) probability += Math.exp(logChoose(trials, k) - trials * Math.LN2);
  return Math.min(1, probability);
}

/** Vote counts of the leading and second answers. */
export function leadingCounts(tally: readonly AnswerTally[]): { top: number; second: number } {
  return { top: tally[0]?.count ?? 0, second: tally[1]?.count ?? 0 };
}

/** Says why to stop after a window, or undefined to draw another. */
export type StoppingRule = (
  candidates: readonly Candidate[],
  window: readonly Candidate[],
) => string | undefined;

export interface SequentialDraw {
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
  const tally = tallyAnswers(candidates, problem.task);
  ctx.trace.emit({ kind: "voted", data: { tally } });
  const spent = ctx.meter.usage;
  return {
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
