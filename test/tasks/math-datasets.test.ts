/** The graders against the reference material of the public benchmarks. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { extractBoxedAnswer, extractHashAnswer, gsm8kTask, mathTask } from "../../src/tasks/math.js";

const datasets = new URL("../../../shared/datasets/", import.meta.url);

function readJsonl(name: string): Record<string, unknown>[] {
  return readFileSync(new URL(name, datasets), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("GSM8K test split", () => {
  const rows = readJsonl("gsm8k-test.jsonl") as { answer: string }[];

  it("has 1319 reference solutions", () => {
    expect(rows).toHaveLength(1319);
  });

  it("grades every reference number against itself and against its full solution", () => {
    let selfGraded = 0;
    let solutionGraded = 0;
    for (const row of rows) {
      const reference = extractHashAnswer(row.answer)!;
      if (gsm8kTask.isCorrect(gsm8kTask.extractAnswer(reference)!, reference)) selfGraded++;
      const extracted = gsm8kTask.extractAnswer(row.answer);
      if (extracted !== undefined && gsm8kTask.isCorrect(extracted, reference)) solutionGraded++;
    }
    expect(selfGraded).toBe(1319);
    expect(solutionGraded).toBe(1319);
  });

  it("judges every reference number off by one as wrong", () => {
    let rejected = 0;
    for (const row of rows) {
      const reference = extractHashAnswer(row.answer)!;
      const value = Number(reference.replace(/,/g, ""));
      if (!gsm8kTask.isCorrect(String(value + 1), reference)) rejected++;
    }
    expect(rejected).toBe(1319);
  });
});

describe("MATH-500", () => {
  const rows = readJsonl("math500-test.jsonl") as { solution: string; answer: string }[];

  it("has 500 problems", () => {
    expect(rows).toHaveLength(500);
  });

  it("finds each solution's last box equivalent to the answer", () => {
    let graded = 0;
    for (const row of rows) {
      const boxed = extractBoxedAnswer(row.solution);
      if (boxed !== undefined && mathTask.isCorrect(boxed, row.answer)) graded++;
      if (mathTask.extractAnswer(row.solution) !== boxed)
        throw new Error(`extraction differs: ${row.answer}`);
    }
    expect(graded).toBe(500);
  });

  it("reads each answer when it is stated rather than boxed", () => {
    const stated = (template: (answer: string) => string) =>
      rows.filter((row) => {
        const extracted = mathTask.extractAnswer(
          `Some reasoning with 3 numbers, 4 and 5.\n${template(row.answer)}`,
        );
        return extracted !== undefined && mathTask.isCorrect(extracted, row.answer);
      }).length;
    expect(stated((answer) => `The answer is $${answer}$.`)).toBe(500);
    expect(stated((answer) => `Final answer: ${answer}.`)).toBe(500);
  });

  it("grades each answer against itself", () => {
    expect(rows.filter((row) => mathTask.equivalent(row.answer, row.answer)).length).toBe(500);
  });

  /** Changes one number of the answer: `\frac{14}{3}` → `\frac{15}{3}`. */
  function perturb(
    answer: string,
    which: "first" | "last",
    change: (n: number) => number,
  ): string | undefined {
    const numbers = [...answer.matchAll(/\d+/g)];
    const target = which === "first" ? numbers[0] : numbers.at(-1);
    if (!target) return undefined;
    const start = target.index;
    return (
      answer.slice(0, start) + String(change(Number(target[0]))) + answer.slice(start + target[0].length)
    );
  }

  function countRejected(which: "first" | "last", change: (n: number) => number) {
    let perturbed = 0;
    let rejected = 0;
    const accepted: string[] = [];
    for (const row of rows) {
      const wrong = perturb(row.answer, which, change);
      if (wrong === undefined) continue;
      perturbed++;
      if (!mathTask.isCorrect(wrong, row.answer)) rejected++;
      else accepted.push(`${wrong} for ${row.answer}`);
    }
    return { perturbed, rejected, accepted };
  }

  it("rejects every answer with its first number increased by one", () => {
    // 11 answers contain no digit (\text{Evelyn}, p - q, \pi, \cot x, ...).
    const { perturbed, rejected } = countRejected("first", (n) => n + 1);
    expect(perturbed).toBe(489);
    expect(rejected).toBe(489);
  });

  it("rejects every answer with its last number changed, unit exponents included", () => {
    const plusOne = countRejected("last", (n) => n + 1);
    expect(plusOne.accepted).toEqual([]);
    expect(plusOne.rejected).toBe(489);
    const doubled = countRejected("last", (n) => 2 * n + 1);
    expect(doubled.rejected).toBe(489);
  });

  it("tells the distinct answers apart, except forms that only differ in presentation", () => {
    const distinct = [...new Set(rows.map((row) => row.answer))];
    expect(distinct).toHaveLength(301);
    const equivalentPairs: string[] = [];
    for (let i = 0; i < distinct.length; i++) {
      for (let j = i + 1; j < distinct.length; j++) {
        if (mathTask.equivalent(distinct[i]!, distinct[j]!))
          equivalentPairs.push(`${distinct[i]} ≡ ${distinct[j]}`);
      }
    }
    // Of 45,150 pairs, these 13 are the same value written differently (units, degrees and
    // dollar signs are ignored by design), or read so.
    expect(equivalentPairs.sort()).toEqual(
      [
        "90^\\circ ≡ 90",
        "5 ≡ x=5",
        "1,-2 ≡ -2,1",
        // `(-2,1)` may be an interval, but an ordered pair may be written without parentheses.
        "(-2,1) ≡ -2,1",
        "120^\\circ ≡ 120",
        "36 ≡ 36^\\circ",
        "36 ≡ \\$36",
        "\\frac{1}{4} ≡ \\frac14",
        "30^\\circ ≡ 30",
        "10,\\!080 ≡ 10080",
        "15 ≡ 15\\mbox{ cm}^2",
        "36^\\circ ≡ \\$36",
        "2 \\sqrt{5} ≡ 2\\sqrt{5}",
      ].sort(),
    );
  });
});

describe("AIME 2024 and AMC 2023", () => {
  it("grades every AIME answer against itself and as a boxed response", () => {
    const rows = readJsonl("aime24-test.jsonl") as { answer: string }[];
    expect(rows).toHaveLength(30);
    const graded = rows.filter((row) => {
      const extracted = mathTask.extractAnswer(`So the answer is $\\boxed{${row.answer}}$.`);
      return (
        extracted !== undefined &&
        mathTask.isCorrect(extracted, row.answer) &&
        mathTask.isCorrect(row.answer, row.answer)
      );
    });
    expect(graded).toHaveLength(30);
    // AIME answers such as `025` are the integer 25.
    expect(mathTask.isCorrect("25", "025")).toBe(true);
  });

  it("grades every AMC answer (stored as a float such as 27.0) against its integer", () => {
    const rows = readJsonl("amc23-test.jsonl") as { answer: number }[];
    expect(rows).toHaveLength(40);
    const graded = rows.filter((row) => {
      const reference = row.answer.toFixed(1);
      const extracted = mathTask.extractAnswer(`The final answer is ${Math.round(row.answer)}.`);
      return (
        extracted !== undefined &&
        mathTask.isCorrect(extracted, reference) &&
        mathTask.isCorrect(reference, reference)
      );
    });
    expect(graded).toHaveLength(40);
  });
});
