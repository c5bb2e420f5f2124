import { describe, expect, it } from "vitest";
import { type Candidate, referenceTask, type Task } from "../../src/core/types.js";
import { bestScoredIndex, tallyAnswers } from "../../src/strategies/vote.js";

// Numeric answers compared by value, so "0.5" and "1/2"-style grouping is exercised.
const numericTask: Task = referenceTask({
  name: "numeric",
  extractAnswer: (text: string) => text.match(/-?\d+(\.\d+)?/)?.[0],
  equivalent: (a: string, b: string) => Number(a) === Number(b),
  isCorrect: (a: string, b: string) => Number(a) === Number(b),
});

const candidate = (answer: string | undefined, score?: number): Candidate => ({
  text: `A: ${answer}`,
  answer,
  tokens: 3,
  finishReason: "eos",
  score,
});

describe("tallyAnswers", () => {
  it("groups equivalent answers under the first form seen and counts votes", () => {
    const tally = tallyAnswers(
      [candidate("2"), candidate("3"), candidate("2.0"), candidate("3.00"), candidate("3")],
      numericTask,
    );
    expect(tally).toEqual([
      { answer: "3", count: 3, score: 3 },
      { answer: "2", count: 2, score: 2 },
    ]);
  });

  it("breaks ties by the earliest answer in sample order", () => {
    expect(
      tallyAnswers([candidate("7"), candidate("5"), candidate("5"), candidate("7")], numericTask)[0]!.answer,
    ).toBe("7");
    expect(
      tallyAnswers([candidate("5"), candidate("7"), candidate("7"), candidate("5")], numericTask)[0]!.answer,
    ).toBe("5");
  });

  it("never lets a sample without an answer vote", () => {
    const tally = tallyAnswers([candidate(undefined), candidate(undefined), candidate("4")], numericTask);
    expect(tally).toEqual([{ answer: "4", count: 1, score: 1 }]);
  });

  it("weights votes by score when asked (weighted majority)", () => {
    const candidates = [candidate("1", 0.1), candidate("1", 0.1), candidate("1", 0.1), candidate("9", 0.9)];
    expect(tallyAnswers(candidates, numericTask)[0]!.answer).toBe("1");
    expect(tallyAnswers(candidates, numericTask, (c) => c.score ?? 0)[0]!.answer).toBe("9");
  });

  it("keeps each answer's best score when asked (best-of-n)", () => {
    const candidates = [candidate("1", 0.5), candidate("1", 0.5), candidate("9", 0.7)];
    expect(tallyAnswers(candidates, numericTask, (c) => c.score ?? 0, "max")).toEqual([
      { answer: "9", count: 1, score: 0.7 },
      { answer: "1", count: 2, score: 0.5 },
    ]);
  });
});

describe("bestScoredIndex", () => {
  it("picks the highest score among answered candidates, earliest on ties", () => {
    expect(
      bestScoredIndex([
        candidate("1", 0.2),
        candidate(undefined, 0.99),
        candidate("3", 0.8),
        candidate("4", 0.8),
      ]),
    ).toBe(2);
    expect(bestScoredIndex([candidate(undefined, 1)])).toBeUndefined();
  });
});
