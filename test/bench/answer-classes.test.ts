/**
 * The bench reads and compares a problem's answers once, and the memoised task answers exactly
 * as the task does, so a strategy's selection rule on it (the pool estimates) gives the same
 * result; with `answerKey` grouping is one normalisation per answer.
 */
import { describe, expect, it } from "vitest";
import { AnswerClasses, memoizedTask } from "../../src/bench/answer-classes.js";
import { expectedSelection } from "../../src/bench/pool-estimates.js";
import { seededRandom } from "../../src/core/random.js";
import type { Candidate, Task } from "../../src/core/types.js";
import { selfConsistency } from "../../src/strategies/self-consistency.js";
import { weightedMajority } from "../../src/strategies/weighted-majority.js";

/** Numbers equal within 1: not transitive (1 ~ 2 ~ 3 but not 1 ~ 3), so grouping depends on order. */
function countingTask(withKey = false) {
  const calls = { equivalent: 0, extract: 0, key: 0 };
  const task: Task = {
    name: "within-one",
    extractAnswer(text) {
      calls.extract += 1;
      return /answer: (\d+)/.exec(text)?.[1];
    },
    equivalent(a, b) {
      calls.equivalent += 1;
      return withKey ? a === b : Math.abs(Number(a) - Number(b)) <= 1;
    },
    async grade(answer, problem) {
      return { correct: answer === problem.reference };
    },
    ...(withKey
      ? {
          answerKey(answer: string) {
            calls.key += 1;
            return answer;
          },
        }
      : {}),
  };
  return { task, calls };
}

const pool = (seed: number, n: number): Candidate[] => {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = Math.floor(random() * 5);
    return {
      text: `sample ${i}`,
      answer: a === 4 ? undefined : String(a),
      score: Math.round(random() * 4) / 4,
      tokens: i,
      finishReason: "eos" as const,
    };
  });
};

describe("answers compared once per problem", () => {
  it("gives every strategy rule the same answers as the task itself, even for a relation that is not transitive", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { task } = countingTask();
      const memo = memoizedTask(task);
      const candidates = pool(seed, 10);
      for (const rule of [selfConsistency.fromPool!.select, weightedMajority.fromPool!.select])
        for (const k of [1, 3, 5, 10]) {
          const right = (a: string) => a === "1";
          const direct = expectedSelection(candidates, k, rule, task, right, seededRandom(seed));
          expect(expectedSelection(candidates, k, rule, memo, right, seededRandom(seed))).toBe(direct);
        }
    }
  });

  it("asks the task about each ordered pair of distinct answers at most once, and reads each text once", () => {
    const { task, calls } = countingTask();
    const memo = memoizedTask(task);
    const candidates = pool(3, 40);
    for (let k = 1; k <= 40; k += 3)
      expectedSelection(
        candidates,
        k,
        selfConsistency.fromPool!.select,
        memo,
        () => true,
        seededRandom(1),
        200,
      );
    const distinct = new Set(candidates.flatMap((c) => (c.answer === undefined ? [] : [c.answer]))).size;
    expect(calls.equivalent).toBeLessThanOrEqual(distinct * distinct);
    for (let i = 0; i < 5; i++) for (const c of candidates) memo.extractAnswer(c.text);
    expect(calls.extract).toBe(40);
  });

  it("with an answerKey, normalises each answer once and never compares pairwise", () => {
    const { task, calls } = countingTask(true);
    const classes = new AnswerClasses(task);
    const memo = memoizedTask(task, classes);
    expectedSelection(
      pool(5, 30),
      7,
      selfConsistency.fromPool!.select,
      memo,
      () => true,
      seededRandom(2),
      500,
    );
    expect(calls.equivalent).toBe(0);
    expect(calls.key).toBe(classes.size);
    expect(classes.size).toBeLessThanOrEqual(4);
  });

  it("grades each answer once per problem, and keeps the task's own fields", async () => {
    const { task } = countingTask();
    let graded = 0;
    const counted: Task = {
      ...task,
      grade: async (a, p) => {
        graded += 1;
        return task.grade(a, p);
      },
    };
    const memo = memoizedTask(counted);
    const problem = { id: "p", prompt: "q", reference: "2", task: memo };
    for (let i = 0; i < 3; i++) expect((await memo.grade("2", problem)).correct).toBe(true);
    expect((await memo.grade("3", problem)).correct).toBe(false);
    expect(graded).toBe(2);
    expect(memo.name).toBe("within-one");
  });
});
