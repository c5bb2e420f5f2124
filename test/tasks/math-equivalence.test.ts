import { describe, expect, it } from "vitest";
import {
  evaluateExpression,
  gsm8kTask,
  mathAnswersEquivalent,
  parseLatexExpression,
} from "../../src/tasks/math.js";

const value = (latex: string, values: Record<string, number> = {}) =>
  evaluateExpression(parseLatexExpression(latex), new Map(Object.entries(values)));

describe("parseLatexExpression", () => {
  it.each([
    ["1+2*3", 7],
    ["2^3^2", 512],
    ["-2^2", -4],
    ["\\frac{1}{2}", 0.5],
    ["\\frac12", 0.5],
    ["\\frac{270}7", 270 / 7],
    ["2\\sqrt3", 2 * Math.sqrt(3)],
    ["\\sqrt[3]{-8}", -2],
    ["3\\pi", 3 * Math.PI],
    ["6.72\\times10^{-5}", 6.72e-5],
    ["6.72e-5", 6.72e-5],
    ["2\\cdot 3", 6],
    ["12\\div 4", 3],
    ["(1+2)(3+4)", 21],
    ["\\{2+3\\}", 5],
    ["|{-3}|", 3],
    ["5!", 120],
    ["\\log_2 8", 3],
    [".5", 0.5],
  ])("%s = %d", (latex, expected) => {
    expect(value(latex)).toBeCloseTo(expected, 9);
  });

  it("evaluates variables, implicit multiplication and functions", () => {
    expect(value("2x^2+3x", { x: 2 })).toBe(14);
    expect(value("\\frac{11+9a}{20}", { a: 1 })).toBe(1);
    expect(value("\\sin^2 x + \\cos^2 x", { x: 0.7 })).toBeCloseTo(1, 12);
    expect(value("\\cot x", { x: 1 })).toBeCloseTo(1 / Math.tan(1), 12);
    expect(value("a_1+a_2", { a_1: 1, a_2: 2 })).toBe(3);
  });

  it("rejects malformed input", () => {
    expect(() => parseLatexExpression("1+")).toThrow();
    expect(() => parseLatexExpression("(1+2")).toThrow();
    expect(() => parseLatexExpression("\\unknowncommand{2}")).toThrow();
  });
});

describe("mathAnswersEquivalent: equal forms", () => {
  it.each([
    ["number with commas", "1,000", "1000"],
    ["trailing .0", "27.0", "27"],
    ["\\frac12", "\\frac12", "\\frac{1}{2}"],
    ["slash fraction", "1/2", "\\frac{1}{2}"],
    ["decimal vs fraction", "0.5", "\\frac{1}{2}"],
    ["dfrac", "\\dfrac{3}{2}", "1.5"],
    ["negative fraction", "-\\frac{35}{9}", "\\frac{-35}{9}"],
    ["rounded decimal of a fraction", "0.333", "\\frac{1}{3}"],
    ["radical", "2\\sqrt3", "\\sqrt{12}"],
    ["rationalised radical", "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt3}"],
    ["radical sum", "11\\sqrt{5} + 11", "11+11\\sqrt5"],
    ["pi", "\\frac{\\pi}{2}", "0.5\\pi"],
    ["pi product", "288\\pi", "288 \\pi"],
    ["scientific notation", "6.72\\times 10^{-5}", ".0000672"],
    ["e notation", "6.72e-5", "0.0000672"],
    ["degrees", "90^\\circ", "90"],
    ["units", "15\\mbox{ cm}^2", "15"],
    ["dollars", "\\$32,\\!348", "32348"],
    ["percent", "25\\%", "25"],
    ["mixed number", "1\\frac{4}{5}", "\\frac95"],
    ["base subscript forms", "52_8", "52_{8}"],
    ["tuple with \\left \\right", "\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\pi/2)"],
    ["interval", "(3,4]", "(3, 4]"],
    ["interval with infinity", "(-\\infty, 0]", "(-\\infty,0]"],
    ["union of intervals, reordered", "(0,9) \\cup (9,36)", "(9,36)\\cup(0,9)"],
    ["unordered solutions", "1,-2", "-2, 1"],
    ["plus-minus", "1 \\pm \\sqrt{19}", "1-\\sqrt{19}, 1+\\sqrt{19}"],
    ["set with plus-minus", "\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt5"],
    ["polynomial", "x^2+2x+1", "(x+1)^2"],
    ["factored product", "(a+5)(b+2)", "ab+2a+5b+10"],
    ["trig identity", "\\cot x", "\\frac{\\cos x}{\\sin x}"],
    ["complex number", "-2 + 7i", "7i-2"],
    ["variable prefix", "x=5", "5"],
    ["line", "y = 2x + 3", "2x+3"],
    ["rearranged line", "y = 2x + 3", "2x+3=y"],
    ["parenthesised radical argument", "\\sqrt(2)", "\\sqrt{2}"],
    ["scaled plane", "5x - 7y + 11z + 4 = 0", "-10x+14y-22z=8"],
    [
      "column vector and tuple",
      "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
      "(-\\frac13,\\frac23,\\frac53)",
    ],
    [
      "matrix",
      "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
      "\\begin{bmatrix}-1&0\\\\0&-1\\end{bmatrix}",
    ],
    ["text, case-insensitive", "\\text{Evelyn}", "evelyn"],
    ["multiple-choice letter", "\\text{(C)}", "C"],
    ["multiple-choice letter, lower case", "(c)", "\\textbf{(C)}"],
    ["multiple-choice letter with its content", "(C) 12", "\\text{(C)}"],
    ["binomial coefficient", "\\binom{5}{2}", "10"],
    ["unicode minus and pi", "−2π", "-2\\pi"],
    ["unicode radical", "3√2", "3\\sqrt{2}"],
    ["set in plain braces", "{1,2}", "\\{2,1\\}"],
  ])("%s: %s ≡ %s", (_rule, a, b) => {
    expect(mathAnswersEquivalent(a, b)).toBe(true);
    expect(mathAnswersEquivalent(b, a)).toBe(true);
  });
});

describe("mathAnswersEquivalent: different answers", () => {
  it.each([
    ["different numbers", "42", "43"],
    ["large integers one apart", "11,111,111,100", "11111111101"],
    ["different fractions", "\\frac{14}{3}", "\\frac{15}{3}"],
    ["a coarse decimal", "0.33", "\\frac13"],
    ["two decimals", "0.3334", "0.333"],
    ["pi vs a rough value", "\\pi", "3.14"],
    ["different radicals", "2\\sqrt{3}", "3\\sqrt{2}"],
    ["open vs half-open interval", "(3,4]", "(3,4)"],
    ["tuple order", "(1,2)", "(2,1)"],
    ["tuple length", "(1,2,3)", "(1,2)"],
    ["missing solution", "1,-2", "1"],
    ["different polynomials", "x^2+2x+1", "x^2+2x"],
    ["different variables", "2k", "2n"],
    ["anagram words", "Navin", "Nivan"],
    ["different words", "\\text{east}", "\\text{west}"],
    ["different letters", "(B)", "(C)"],
    ["different letter with content", "(C) 12", "(D)"],
    ["different bases", "52_8", "52_9"],
    ["a base numeral vs the decimal numeral", "52_8", "52"],
    ["degrees are not radians", "30^\\circ", "\\frac{\\pi}{6}"],
    ["infinity vs a number", "(2,\\infty)", "(2,1000)"],
    ["different planes", "5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0"],
    ["empty answer", "", "0"],
    ["unparseable vs number", "\\foo{1}", "1"],
  ])("%s: %s ≢ %s", (_rule, a, b) => {
    expect(mathAnswersEquivalent(a, b)).toBe(false);
    expect(mathAnswersEquivalent(b, a)).toBe(false);
  });
});

describe("gsm8k equivalence", () => {
  it("compares numbers, whatever the decoration", () => {
    expect(gsm8kTask.isCorrect("$1,000.00", "1000")).toBe(true);
    expect(gsm8kTask.isCorrect("18 dollars", "18")).toBe(true);
    expect(gsm8kTask.isCorrect("-3", "-3")).toBe(true);
    expect(gsm8kTask.isCorrect("17", "18")).toBe(false);
    expect(gsm8kTask.isCorrect("-18", "18")).toBe(false);
    expect(gsm8kTask.equivalent("0.5", "\\frac{1}{2}")).toBe(true);
  });
});
