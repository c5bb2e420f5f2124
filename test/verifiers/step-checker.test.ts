import { describe, expect, it } from "vitest";
import type { Candidate } from "../../src/core/types.js";
import { generateArithmeticProblems, toProblem } from "../../src/tasks/arithmetic.js";
import {
  checkArithmeticSolution,
  scoreArithmeticCandidate,
  scoreArithmeticSteps,
  stepCheckerVerifier,
} from "../../src/verifiers/step-checker.js";

const problem = toProblem({
  id: "example",
  level: 4,
  expression: "5+12*3-7*4",
  prompt: "Q: 5+12*3-7*4=?\n",
  reference: "13",
  steps: ["12*3=36", "7*4=28", "5+36=41", "41-28=13"],
  solution: "12*3=36\n7*4=28\n5+36=41\n41-28=13\nA: 13",
});
const candidate = (text: string): Candidate => ({ text, answer: undefined, tokens: 0, finishReason: "eos" });

describe("checkArithmeticSolution", () => {
  it("accepts the canonical solution of every generated problem", () => {
    for (const level of [1, 2, 3, 4, 5]) {
      for (const p of generateArithmeticProblems({ level, count: 50, seed: 5 })) {
        const check = checkArithmeticSolution(p.expression, p.solution);
        expect(check.complete && check.correct).toBe(true);
        expect(check.value).toBe(Number(p.reference));
      }
    }
  });

  it("accepts any reduction order that precedence allows", () => {
    const check = checkArithmeticSolution("5+12*3-7*4", "7*4=28\n12*3=36\n5+36=41\n41-28=13\nA: 13");
    expect(check.steps.map((s) => s.kind)).toEqual(["valid", "valid", "valid", "valid", "answer-consistent"]);
    expect(check.correct).toBe(true);
  });

  it("rejects reductions that break precedence or are not in the expression", () => {
    const check = checkArithmeticSolution("5+12*3-7*4", "5+12=17\n9*9=81\n12*3=36");
    expect(check.steps.map((s) => s.kind)).toEqual(["illegal-reduction", "illegal-reduction", "valid"]);
    expect(checkArithmeticSolution("20-5+3", "5+3=8").steps[0]!.kind).toBe("illegal-reduction");
    expect(checkArithmeticSolution("20-5+3", "20-5=15\n15+3=18\nA: 18").correct).toBe(true);
  });

  it("flags a wrong result and judges later steps from the stated value", () => {
    const check = checkArithmeticSolution("5+12*3-7*4", "12*3=35\n7*4=28\n5+35=40\n40-28=12\nA: 12");
    expect(check.steps.map((s) => s.valid)).toEqual([false, true, true, true, true]);
    expect(check.steps[0]!.expected).toBe(36);
    expect(check.complete).toBe(false);
    expect(check.correct).toBe(false);
  });

  it("judges the answer line against the reduced expression", () => {
    expect(checkArithmeticSolution("3+4", "3+4=7\nA: 8").answer!.kind).toBe("answer-inconsistent");
    expect(checkArithmeticSolution("3+4*2", "4*2=8\nA: 8").answer!.kind).toBe("answer-incomplete");
    expect(checkArithmeticSolution("3+4", "3+4=7\nA: 7\ngarbage").steps).toHaveLength(2);
    expect(checkArithmeticSolution("3+4", "3+4 is 7").steps[0]!.kind).toBe("malformed");
  });

  it("handles partial solutions", () => {
    const check = checkArithmeticSolution("5+12*3-7*4", "12*3=36\n7*4=28\n");
    expect(check.steps.map((s) => s.valid)).toEqual([true, true]);
    expect(check.answer).toBeUndefined();
    expect(check.steps[1]!.expression).toBe("5+36-28");
  });

  it("names the field when the prompt is not an arithmetic prompt", () => {
    expect(() => scoreArithmeticSteps({ ...problem, prompt: "hello" }, "A: 1")).toThrow(/problem\.prompt/);
  });
});

describe("scores", () => {
  it("gives 1 to a correct solution, less to a slip, 0 to an inconsistent answer", () => {
    expect(scoreArithmeticCandidate(problem, "12*3=36\n7*4=28\n5+36=41\n41-28=13\nA: 13")).toBe(1);
    expect(scoreArithmeticCandidate(problem, "12*3=35\n7*4=28\n5+35=40\n40-28=12\nA: 12")).toBe(0.75);
    expect(scoreArithmeticCandidate(problem, "12*3=36\n7*4=28\n5+36=41\n41-28=13\nA: 14")).toBe(0);
    expect(scoreArithmeticCandidate(problem, "12*3=36\n")).toBe(0.5);
    expect(scoreArithmeticCandidate(problem, "")).toBe(0);
  });

  it("scores each step, answer line included", () => {
    expect(scoreArithmeticSteps(problem, "12*3=36\n7*4=29\n5+36=41\n")).toEqual([1, 0, 1]);
  });

  it("is a Verifier over candidates", async () => {
    const verifier = stepCheckerVerifier();
    const scores = await verifier.score(
      problem,
      [
        candidate("12*3=36\n7*4=28\n5+36=41\n41-28=13\nA: 13"),
        candidate("12*3=36\n7*4=28\n5+36=41\n41-28=3\nA: 3"),
      ],
      { recordUsage: () => {} },
    );
    expect(scores).toEqual([1, 0.75]);
    expect(verifier.name).toBe("step-checker");
  });

  it("is a process verifier: scores only the new steps, each in the context of its prefix", async () => {
    const verifier = stepCheckerVerifier();
    const ctx = { recordUsage: () => {} };
    expect(await verifier.scoreSteps!(problem, "", ["12*3=36\n", "7*4=29\n"], ctx)).toEqual([1, 0]);
    // The same wrong step after a correct prefix is still wrong; a right one after it is judged on its own.
    expect(await verifier.scoreSteps!(problem, "12*3=36\n", ["7*4=28\n", "5+36=41\n"], ctx)).toEqual([1, 1]);
    expect(await verifier.scoreSteps!(problem, "12*3=36\n7*4=28\n", ["5+36=40\n"], ctx)).toEqual([0]);
  });

  it("flips verdicts at about the noise rate, deterministically per seed and prefix", () => {
    const problems = generateArithmeticProblems({ level: 5, count: 400, seed: 9 }).map((p) => ({
      p,
      problem: toProblem(p),
    }));
    let flips = 0;
    let total = 0;
    for (const { p, problem: q } of problems) {
      const noisy = scoreArithmeticSteps(q, p.solution, { noise: 0.2, seed: 3 });
      expect(scoreArithmeticSteps(q, p.solution, { noise: 0.2, seed: 3 })).toEqual(noisy);
      // scoring a prefix gives the same verdicts for the shared lines
      const prefix = `${p.steps.slice(0, 2).join("\n")}\n`;
      expect(scoreArithmeticSteps(q, prefix, { noise: 0.2, seed: 3 })).toEqual(noisy.slice(0, 2));
      flips += noisy.filter((s) => s === 0).length;
      total += noisy.length;
    }
    expect(flips / total).toBeGreaterThan(0.15);
    expect(flips / total).toBeLessThan(0.25);
    const other = problems.map(({ p, problem: q }) =>
      scoreArithmeticSteps(q, p.solution, { noise: 0.2, seed: 4 }),
    );
    const same = problems.map(({ p, problem: q }) =>
      scoreArithmeticSteps(q, p.solution, { noise: 0.2, seed: 3 }),
    );
    expect(other).not.toEqual(same);
  });

  it("rejects a noise rate outside [0, 1] naming the field", () => {
    expect(() => stepCheckerVerifier({ noise: 1.5 })).toThrow(/stepChecker\.noise/);
  });
});
