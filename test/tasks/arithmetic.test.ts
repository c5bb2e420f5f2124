import { describe, expect, it } from "vitest";
import {
  arithmeticLevels,
  arithmeticSpec,
  arithmeticTask,
  formatArithmeticPrompt,
  generateArithmeticProblems,
  parseArithmeticPrompt,
  toProblem,
} from "../../src/tasks/arithmetic.js";

function evaluate(expression: string): number {
  // independent evaluation with precedence: split on + and -, multiply inside terms
  const terms = expression.split(/(?=[+-])/);
  return terms.reduce((sum, term) => {
    const sign = term.startsWith("-") ? -1 : 1;
    const product = term
      .replace(/^[+-]/, "")
      .split("*")
      .reduce((p, f) => p * Number(f), 1);
    return sum + sign * product;
  }, 0);
}

describe("generateArithmeticProblems", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = generateArithmeticProblems({ level: 3, count: 20, seed: 7 });
    const b = generateArithmeticProblems({ level: 3, count: 20, seed: 7 });
    const c = generateArithmeticProblems({ level: 3, count: 20, seed: 8 });
    expect(a).toEqual(b);
    expect(a.map((p) => p.expression)).not.toEqual(c.map((p) => p.expression));
  });

  it("gives problem i independently of count and start", () => {
    const all = generateArithmeticProblems({ level: 2, count: 10, seed: 3 });
    const tail = generateArithmeticProblems({ level: 2, count: 4, seed: 3, start: 6 });
    expect(tail).toEqual(all.slice(6));
  });

  it.each(arithmeticLevels)(
    "level %i follows the spec and its worked steps reach the true value",
    (level) => {
      const spec = arithmeticSpec.levels.find((l) => l.level === level)!;
      for (const p of generateArithmeticProblems({ level, count: 200, seed: 11 })) {
        const ops = p.expression.match(/[+\-*]/g) ?? [];
        expect(ops).toHaveLength(spec.operations);
        for (const op of ops) expect(spec.operators).toContain(op);
        expect(p.steps).toHaveLength(spec.operations);
        expect(p.prompt).toBe(`Q: ${p.expression}=?\n`);
        expect(Number(p.reference)).toBe(evaluate(p.expression));
        for (const step of p.steps) {
          const [, a, op, b, c] = /^(\d+)([+\-*])(\d+)=(\d+)$/.exec(step)!;
          const expected =
            op === "+" ? Number(a) + Number(b) : op === "-" ? Number(a) - Number(b) : Number(a) * Number(b);
          expect(Number(c)).toBe(expected);
          expect(Number(c)).toBeGreaterThanOrEqual(0);
          expect(Number(c)).toBeLessThanOrEqual(arithmeticSpec.maxValue);
        }
        expect(p.solution).toBe(`${p.steps.join("\n")}\nA: ${p.reference}`);
      }
    },
  );

  it("reduces products first, then left to right", () => {
    const [p] = generateArithmeticProblems({ level: 5, count: 50, seed: 1 }).filter(
      (q) => q.expression.includes("*") && /[+-]/.test(q.expression),
    );
    expect(p).toBeDefined();
    const firstAdditive = p!.steps.findIndex((s) => /[+-]/.test(s));
    const lastProduct = p!.steps.map((s) => s.includes("*")).lastIndexOf(true);
    expect(lastProduct).toBeLessThan(firstAdditive);
  });

  it("names the offending field on bad options", () => {
    expect(() => generateArithmeticProblems({ level: 99, count: 1, seed: 0 })).toThrow(/level/);
    expect(() => generateArithmeticProblems({ level: 1, count: -1, seed: 0 })).toThrow(/count/);
    expect(() => generateArithmeticProblems({ level: 1, count: 1, seed: -5 })).toThrow(/seed/);
  });
});

describe("arithmeticTask", () => {
  it("reads the first A: line", () => {
    expect(arithmeticTask.extractAnswer("12*3=36\n5+36=41\nA: 41")).toBe("41");
    expect(arithmeticTask.extractAnswer("A: 007\nA: 8")).toBe("7");
    expect(arithmeticTask.extractAnswer("5+3=8\n")).toBeUndefined();
    expect(arithmeticTask.extractAnswer("the answer is 8")).toBeUndefined();
  });

  it("compares integers by value", () => {
    expect(arithmeticTask.equivalent("007", "7")).toBe(true);
    expect(arithmeticTask.equivalent("-0", "0")).toBe(true);
    expect(arithmeticTask.equivalent("7", "8")).toBe(false);
    expect(arithmeticTask.equivalent("x", "x")).toBe(false);
    expect(arithmeticTask.isCorrect("13", "13")).toBe(true);
  });

  it("round-trips the prompt format", () => {
    const [p] = generateArithmeticProblems({ level: 4, count: 1, seed: 2 });
    expect(parseArithmeticPrompt(p!.prompt)).toBe(p!.expression);
    expect(parseArithmeticPrompt("What is 2+2?")).toBeUndefined();
    const problem = toProblem(p!);
    expect(problem.task).toBe(arithmeticTask);
    expect(problem.reference).toBe(p!.reference);
  });
});

describe("formatArithmeticPrompt", () => {
  it("accepts a bare expression, one ending in =? or a formatted prompt", () => {
    expect(formatArithmeticPrompt("5+3")).toBe("Q: 5+3=?\n");
    expect(formatArithmeticPrompt(" 5 + 3 =? ")).toBe("Q: 5+3=?\n");
    expect(formatArithmeticPrompt("Q: 5+3=?\n")).toBe("Q: 5+3=?\n");
  });
});
