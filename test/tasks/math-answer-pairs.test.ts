/** The grader on answer pairs built from the benchmarks' answer forms (see bench/grader-pairs.ts). */
import { describe, expect, it } from "vitest";
import { gradeAnswerPairs } from "../../bench/grader-pairs.js";

describe("math answer pairs", () => {
  const grades = gradeAnswerPairs();

  it("has a few hundred pairs of each kind", () => {
    expect(grades.equalPairs).toBeGreaterThan(300);
    expect(grades.differentPairs).toBeGreaterThan(500);
  });

  it("never calls different answers equal", () => {
    expect(grades.falseEqual.map((pair) => `${pair.a} ≡ ${pair.b} (${pair.note})`)).toEqual([]);
  });

  it("misses few equivalences", () => {
    expect(
      grades.missed.length,
      grades.missed.map((pair) => `${pair.a} ≢ ${pair.b}`).join("\n"),
    ).toBeLessThanOrEqual(4);
  });
});
