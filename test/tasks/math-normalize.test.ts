import { describe, expect, it } from "vitest";
import { normalizeMathAnswer } from "../../src/tasks/math.js";

/** One test per normalization rule: the raw answer and its canonical form. */
describe("normalizeMathAnswer", () => {
  it.each([
    ["commas in numbers", "1,000,000", "1000000"],
    ["commas with thin spaces", "10,\\!080", "10080"],
    ["math delimiters", "$\\frac{1}{2}$", "\\frac{1}{2}"],
    ["inline parens delimiters", "\\(x+1\\)", "x+1"],
    ["dollar sign", "\\$18.90", "18.9"],
    ["percent", "50\\%", "50"],
    ["plain percent", "12.5%", "12.5"],
    ["units after a number", "5.4 \\text{ cents}", "5.4"],
    ["squared units", "864 \\mbox{ inches}^2", "864"],
    ["plain words after a number", "18 dollars", "18"],
    ["degrees word", "\\frac{270}7\\text{ degrees}", "\\frac{270}{7}"],
    ["trailing .0", "27.0", "27"],
    ["trailing zeros", "1.250", "1.25"],
    ["leading decimal point", ".35625", "0.35625"],
    ["\\dfrac", "\\dfrac{17}{50}", "\\frac{17}{50}"],
    ["\\tfrac", "\\tfrac{1}{3}", "\\frac{1}{3}"],
    ["\\left and \\right", "\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"],
    ["^\\circ", "90^\\circ", "90"],
    ["^{\\circ}", "30^{\\circ}", "30"],
    ["degree sign", "45°", "45"],
    ["\\text{} answer", "\\text{Evelyn}", "Evelyn"],
    ["\\mbox", "\\mbox{east}", "east"],
    ["\\mathrm", "\\mathrm{even}", "even"],
    ["\\! and \\,", "1\\,000\\!", "1000"],
    ["spaces", "x^5 - x^4 + 1", "x^5-x^4+1"],
    ["space kept after a command before a letter", "\\cot x", "\\cot x"],
    ["trailing period", "42.", "42"],
    ["\\frac12 shorthand", "\\frac12", "\\frac{1}{2}"],
    ["\\frac with a spaced shorthand", "\\frac 59", "\\frac{5}{9}"],
    ["\\frac with one shorthand argument", "\\frac9{19}", "\\frac{9}{19}"],
    ["\\sqrt shorthand", "11\\sqrt2", "11\\sqrt{2}"],
    ["mixed number", "1\\frac{4}{5}", "\\frac{9}{5}"],
    ["spaced mixed number", "137 \\frac{1}{2}", "\\frac{275}{2}"],
    ["variable prefix", "x = 5", "5"],
    ["variable prefix with a fraction", "k=\\frac{1}{2}", "\\frac{1}{2}"],
    ["an equation stays whole", "y = 2x + 3", "y=2x+3"],
    ["\\sqrt with parentheses", "\\sqrt(2)", "\\sqrt{2}"],
    ["variable membership", "x \\in [-2,7]", "[-2,7]"],
    ["boxed wrapper", "\\boxed{12}", "12"],
    ["base subscript", "4210_{5}", "4210_{5}"],
    ["base subscript without braces", "52_8", "52_{8}"],
    ["multiple-choice letter", "\\text{(C)}", "C"],
    ["multiple-choice letter, lower case", "(d)", "D"],
    ["infinity spelling", "(2,+\\infinity)", "(2,\\infty)"],
    ["\\leq", "x \\leq 3", "x\\le3"],
    ["negative zero", "-0.0", "0"],
  ])("%s: %s → %s", (_rule, raw, expected) => {
    expect(normalizeMathAnswer(raw)).toBe(expected);
  });

  it("keeps commands that look like unit words (\\pi)", () => {
    expect(normalizeMathAnswer("288 \\pi")).toBe("288\\pi");
  });

  it("keeps matrix row breaks intact", () => {
    expect(normalizeMathAnswer("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}")).toBe(
      "\\begin{pmatrix}-1&0\\\\0&-1\\end{pmatrix}",
    );
  });
});
