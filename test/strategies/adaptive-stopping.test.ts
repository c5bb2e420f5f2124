import { describe, expect, it } from "vitest";
import type { Candidate } from "../../src/core/types.js";
import {
  leadingCounts,
  majoritySettledProbability,
  windowAgrees,
} from "../../src/strategies/adaptive-stopping.js";
import {
  groupConfidences,
  keepThreshold,
  tokenConfidence,
  traceConfidence,
} from "../../src/strategies/deepconf-confidence.js";
import { tallyAnswers } from "../../src/strategies/vote.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";

const said = (...answers: (string | undefined)[]): Candidate[] =>
  answers.map((answer) => ({ text: answer ?? "", finishReason: "eos", tokens: 3, answer }));

/** P(p > 1/2) for p ~ Beta(a, b), by the midpoint rule on a fine grid. */
function betaTail(a: number, b: number): number {
  const steps = 200_000;
  let above = 0;
  let all = 0;
  for (let i = 0; i < steps; i++) {
    const x = (i + 0.5) / steps;
    const density = x ** (a - 1) * (1 - x) ** (b - 1);
    all += density;
    if (x > 0.5) above += density;
  }
  return above / all;
}

describe("ESC window rule", () => {
  it("stops only on a window whose every sample states the same answer", () => {
    expect(windowAgrees(said("12", "12", "12"), arithmeticTask)).toBe(true);
    expect(windowAgrees(said("12", "12", "13"), arithmeticTask)).toBe(false);
    expect(windowAgrees(said("12", undefined, "12"), arithmeticTask)).toBe(false);
    expect(windowAgrees(said(undefined, undefined), arithmeticTask)).toBe(false);
    expect(windowAgrees([], arithmeticTask)).toBe(false);
  });
});

describe("Adaptive-Consistency Beta rule", () => {
  it("equals the Beta posterior P(p > 1/2) computed numerically", () => {
    for (const [top, second] of [
      [0, 0],
      [3, 0],
      [4, 0],
      [5, 2],
      [9, 7],
      [20, 3],
    ] as const)
      expect(majoritySettledProbability(top, second)).toBeCloseTo(betaTail(top + 1, second + 1), 4);
  });

  it("grows with the lead and stays at one half for a tie", () => {
    expect(majoritySettledProbability(4, 0)).toBeCloseTo(31 / 32, 12);
    expect(majoritySettledProbability(6, 6)).toBeCloseTo(0.5, 12);
    expect(majoritySettledProbability(8, 2)).toBeGreaterThan(majoritySettledProbability(6, 2));
    expect(majoritySettledProbability(8, 4)).toBeLessThan(majoritySettledProbability(8, 2));
    // Large counts stay finite and exact enough.
    expect(majoritySettledProbability(600, 500)).toBeGreaterThan(0.99);
    expect(() => majoritySettledProbability(-1, 0)).toThrow(RangeError);
  });

  it("reads the two leading counts of a tally", () => {
    expect(leadingCounts(tallyAnswers(said("1", "2", "1", undefined, "3", "1"), arithmeticTask))).toEqual({
      top: 3,
      second: 1,
    });
    expect(leadingCounts([])).toEqual({ top: 0, second: 0 });
  });
});

describe("DeepConf confidence", () => {
  const token = (logprob: number, top: number[]) => ({
    token: "x",
    logprob,
    top: top.map((l) => ({ token: "y", logprob: l })),
  });

  it("top-k confidence is high for a peaked distribution, sampled confidence is the token's probability", () => {
    const peaked = token(-0.01, [-0.01, -9, -10]);
    const flat = token(-1.1, [-1, -1.1, -1.2]);
    expect(tokenConfidence(peaked, "top-k")).toBeCloseTo((0.01 + 9 + 10) / 3, 12);
    expect(tokenConfidence(peaked, "top-k")).toBeGreaterThan(tokenConfidence(flat, "top-k"));
    expect(tokenConfidence(flat, "sampled")).toBeCloseTo(Math.exp(-1.1), 12);
  });

  it("groups are sliding-window means; a short trace is one group", () => {
    expect(groupConfidences([1, 2, 3, 4, 5], 2)).toEqual([1.5, 2.5, 3.5, 4.5]);
    expect(groupConfidences([1, 2], 4)).toEqual([1.5]);
    expect(groupConfidences([], 4)).toEqual([]);
    const values = [5, 5, 1, 1, 5, 5];
    expect(traceConfidence(values, 2, "lowest-group")).toBe(1);
    expect(traceConfidence(values, 2, "tail")).toBe(5);
    expect(traceConfidence(values, 2, "mean")).toBeCloseTo(22 / 6, 12);
  });

  it("the keep threshold keeps the most confident share", () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(keepThreshold(values, 1)).toBe(1);
    expect(keepThreshold(values, 0.5)).toBeCloseTo(5.5, 12);
    expect(values.filter((v) => v >= keepThreshold(values, 0.1))).toEqual([10]);
    expect(keepThreshold([], 0.5)).toBe(Number.NEGATIVE_INFINITY);
  });
});
