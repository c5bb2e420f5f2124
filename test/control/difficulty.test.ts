import { describe, expect, it } from "vitest";
import {
  calibrateDifficulty,
  difficultyBin,
  difficultySignals,
  estimateDifficulty,
  quantileEdges,
} from "../../src/control/difficulty.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { Mulberry32 } from "../../src/core/random.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";

const candidate = (answer: string | undefined, tokens = 10, score?: number) => ({
  answer,
  tokens,
  ...(score !== undefined ? { score } : {}),
});

describe("difficulty signals", () => {
  it("reads agreement, answers, distinct answers and length from the probe", () => {
    const signals = difficultySignals(
      [candidate("7", 10), candidate("7", 12), candidate("8", 14), candidate(undefined, 20)],
      arithmeticTask,
    );
    expect(signals).toEqual({ agreement: 0.5, answered: 0.75, distinct: 0.5, meanTokens: 14 });
  });

  it("adds verifier signals when every candidate is scored, and logprobs when every one has them", () => {
    const signals = difficultySignals(
      [
        { ...candidate("7", 2, 0.9), logprobs: [{ logprob: -0.1 }, { logprob: -0.3 }] },
        { ...candidate("7", 2, 0.7), logprobs: [{ logprob: -0.2 }, { logprob: -0.2 }] },
        { ...candidate("9", 2, 0.1), logprobs: [{ logprob: -2 }, { logprob: -Infinity }] },
      ],
      arithmeticTask,
    );
    expect(signals.verifierMean).toBeCloseTo(1.7 / 3, 12);
    expect(signals.verifierMajority).toBeCloseTo(0.8, 12);
    // -Infinity is clamped so one impossible token cannot swamp the mean.
    expect(signals.meanLogprob).toBeCloseTo((-0.2 - 0.2 - 26) / 3, 12);
    expect(difficultySignals([candidate("1")], arithmeticTask).verifierMean).toBeUndefined();
  });
});

describe("difficulty calibration", () => {
  // Synthetic dev split: agreement predicts correctness, length is noise.
  const random = new Mulberry32(3);
  const examples = Array.from({ length: 300 }, () => {
    const agreement = random.next();
    return {
      signals: { agreement, meanTokens: 20 + random.next() * 10 },
      correct: random.next() < 0.1 + 0.85 * agreement,
    };
  });

  it("learns that agreement makes a question easier and cuts equal bins", () => {
    const model = calibrateDifficulty(examples, { bins: 3, features: ["agreement", "meanTokens"] });
    expect(model.weights[0]).toBeGreaterThan(0.5);
    expect(Math.abs(model.weights[1]!)).toBeLessThan(model.weights[0]! / 3);
    expect(model.edges).toHaveLength(2);
    const easy = estimateDifficulty(model, { agreement: 1, meanTokens: 25 });
    const hard = estimateDifficulty(model, { agreement: 0.1, meanTokens: 25 });
    expect(easy).toBeLessThan(hard);
    expect(difficultyBin(model, easy)).toBe(0);
    expect(difficultyBin(model, hard)).toBe(2);
    const counts = [0, 0, 0];
    for (const e of examples) counts[difficultyBin(model, estimateDifficulty(model, e.signals))]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(80);
    // Calibrated: the mean predicted probability of being right matches the base rate.
    const predicted =
      examples.reduce((s, e) => s + 1 - estimateDifficulty(model, e.signals), 0) / examples.length;
    const actual = examples.filter((e) => e.correct).length / examples.length;
    expect(predicted).toBeCloseTo(actual, 1);
  });

  it("leaves out features some problems lack and refuses when none is left", () => {
    const partial = examples.map((e, i) => (i === 0 ? { ...e, signals: { agreement: 0.5 } } : e));
    expect(calibrateDifficulty(partial, { bins: 2 }).features).toEqual(["agreement"]);
    expect(() => calibrateDifficulty(examples, { bins: 2, features: ["verifierMean"] })).toThrow(/features/);
  });

  it("names a signal the model needs but the probe did not give", () => {
    const model = calibrateDifficulty(examples, { bins: 2, features: ["agreement"] });
    const error = (() => {
      try {
        estimateDifficulty(model, { meanTokens: 3 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe("signals.agreement");
  });

  it("quantile edges never split ties", () => {
    expect(quantileEdges([0, 0, 0, 0, 1, 2], 3)).toEqual([0, 1]);
    expect(quantileEdges([1, 1, 1, 1], 3)).toEqual([]);
  });
});
