/** Informal answer forms: each must match its value and must not match a near miss. */
import { describe, expect, it } from "vitest";
import {
  createMathTask,
  extractMathAnswer,
  gsm8kTask,
  mathAnswersEquivalent,
  mathTask,
  numberFromWords,
  strictMathTask,
  truncateAtNextQuestion,
} from "../../src/tasks/math.js";

function expectEquivalent(a: string, b: string, equal: boolean): void {
  expect(mathAnswersEquivalent(a, b), `${a} vs ${b}`).toBe(equal);
  expect(mathAnswersEquivalent(b, a), `${b} vs ${a}`).toBe(equal);
}

function expectGsm8k(a: string, b: string, equal: boolean): void {
  expect(gsm8kTask.isCorrect(a, b), `${a} vs ${b}`).toBe(equal);
  expect(gsm8kTask.isCorrect(b, a), `${b} vs ${a}`).toBe(equal);
}

/** [form, answer, its value, a value it must not match] */
const FORMS: [string, string, string, string][] = [
  ["number word", "twelve", "12", "13"],
  ["hyphenated number words", "twenty-five", "25", "20"],
  ["number words with a scale", "three thousand two hundred", "3200", "3002"],
  ["digits with a scale word", "6 hundred", "600", "6"],
  ["decimal with a scale word", "1.5 million", "1500000", "1.5"],
  ["number word before a unit", "twelve apples", "12", "2"],
  ["fraction in words", "two thirds", "\\frac23", "2"],
  ["hyphenated fraction in words", "three-quarters", "0.75", "3"],
  ["digits over a fraction word", "3 fifths", "0.6", "3"],
  ["compound unit", "10 m/s", "10", "100"],
  ["compound unit in text", "9.8\\text{ m/s}^2", "9.8", "98"],
  ["one-letter unit", "9 m", "9", "8"],
  ["unit in text", "5\\text{ cm}", "5", "6"],
  ["degrees Celsius", "25^\\circ C", "25", "26"],
  ["degrees Celsius in text", "25^{\\circ}\\text{C}", "25", "2.5"],
  ["repeating decimal", "0.\\overline{3}", "\\frac13", "0.3"],
  ["repeating decimal with a fixed part", "0.1\\overline{6}", "\\frac16", "\\frac17"],
  ["repeating block of two digits", "1.\\overline{27}", "\\frac{14}{11}", "1.27"],
  ["\\cfrac", "\\cfrac{1}{2}", "0.5", "2"],
  ["continued fraction", "1+\\cfrac{1}{2+\\cfrac{1}{3}}", "\\frac{10}{7}", "\\frac{7}{10}"],
  ["plain sqrt", "sqrt(2)", "\\sqrt{2}", "2"],
  ["plain sqrt with a coefficient", "2sqrt(3)", "2\\sqrt3", "3\\sqrt2"],
  [
    "U for a union",
    "(-\\infty,1) U (2,\\infty)",
    "(-\\infty,1)\\cup(2,\\infty)",
    "(-\\infty,1)\\cup(3,\\infty)",
  ],
  ["semicolons in a tuple", "(1; 2)", "(1,2)", "(2,1)"],
  ["semicolons in a list", "1; 2; 3", "3,2,1", "1,2"],
  ["one value in two forms with or", "\\frac{1}{2} or 0.5", "0.5", "0.25"],
  ["the same value twice with or", "x=2 or x=2", "2", "3"],
  ["nested \\boxed", "\\boxed{\\boxed{5}}", "5", "55"],
  ["sine of degrees", "\\sin 30^\\circ", "\\frac12", "\\frac{\\sqrt3}{2}"],
  ["cosine of a fraction of pi", "\\cos(\\pi/3)", "\\frac{1}{2}", "\\frac{\\sqrt3}{2}"],
  ["tangent with a degree sign", "\\tan 45°", "1", "\\sqrt3"],
  ["plain sine of degrees", "sin(30°)", "1/2", "\\frac{\\sqrt{2}}{2}"],
  ["square of a sine of degrees", "\\sin^2 45^\\circ", "\\frac12", "1"],
  ["braced degrees", "\\cos{60^\\circ}", "0.5", "\\frac{\\sqrt3}{2}"],
  ["max of numbers", "\\max(3, 5)", "5", "3"],
  ["min of numbers in braces", "\\min\\{2, \\frac{7}{2}\\}", "2", "\\frac72"],
  ["scientific notation with x", "1.04 x 10^2", "104", "1.04"],
  ["scientific notation with \\times", "1.04 \\times 10^{2}", "104", "1040"],
  ["hours and minutes, as hours", "7 hours and 30 minutes", "7.5", "7.3"],
  ["hours and minutes, as minutes", "7 hours and 30 minutes", "450", "30"],
  ["hours and minutes, stated in hours", "7 hours and 30 minutes", "7.5 hours", "7.5 minutes"],
  ["percentage above 1 with its sign dropped", "50\\%", "50", "0.05"],
  ["small percentage", "0.5\\%", "0.005", "0.5"],
];

describe("informal forms (math)", () => {
  it.each(FORMS)("%s: %s ≡ %s, ≢ %s", (_form, answer, value, other) => {
    expectEquivalent(answer, value, true);
    expectEquivalent(answer, other, false);
  });

  it("min after a number is minutes, not the function", () => {
    expectEquivalent("45 min.", "45", true);
    expectEquivalent("45 min", "46", false);
    expectGsm8k("5 min 30 s", "330", true);
    expectGsm8k("5 min 30 s", "5.3", false);
  });

  it("an angle without a degree mark is in radians", () => {
    expectEquivalent("\\sin 30", "\\frac12", false);
    expectEquivalent("\\sin(\\pi/6)", "\\frac12", true);
  });

  it("different temperature scales differ", () => {
    expectEquivalent("25^\\circ C", "25^\\circ F", false);
    expectEquivalent("25°C", "25^\\circ", true);
  });

  it("two different values with or stay two answers", () => {
    expectEquivalent("2 or 3", "2", false);
    expectEquivalent("x=2 or x=3", "2, 3", true);
  });

  it("a percent sign that changes the value does not match", () => {
    expectEquivalent("0.5\\%", "\\frac12", false);
    expectEquivalent("1\\%", "1", false);
    expectEquivalent("1\\%", "0.01", true);
  });

  it("number words are not read out of other words", () => {
    expectEquivalent("one-to-one", "1", false);
    expectEquivalent("\\text{none}", "1", false);
    expectEquivalent("twelve and thirteen", "25", false);
    expect(numberFromWords("one hundred and five")).toBe("105");
    expect(numberFromWords("hundred")).toBeUndefined();
    expectEquivalent("two seconds", "\\frac22", false);
  });
});

describe("informal forms (GSM8K)", () => {
  it.each([
    ["twelve", "12", "13"],
    ["6 hundred", "600", "6"],
    ["1.5 million", "1500000", "1.5"],
    ["10 m/s", "10", "100"],
    ["9 m", "9", "8"],
    ["1.04 x 10^2", "104", "1.04"],
    ["7 hours and 30 minutes", "7.5", "7.3"],
    ["7 hours and 30 minutes", "450", "7"],
    ["2 hours 15 minutes", "2.25", "2.15"],
    ["0.5%", "0.005", "0.5"],
    ["5%", "5", "0.5"],
    ["one half", "0.5", "1"],
  ])("%s ≡ %s, ≢ %s", (answer, value, other) => {
    expectGsm8k(answer, value, true);
    expectGsm8k(answer, other, false);
  });

  it("reads number words and durations out of a stated answer", () => {
    expect(gsm8kTask.extractAnswer("The answer is 6 hundred.")).toBe("600");
    expect(gsm8kTask.extractAnswer("The answer is twelve apples.")).toBe("12");
    const duration = gsm8kTask.extractAnswer(
      "It takes 7 hours and 30 minutes. The answer is 7 hours and 30 minutes.",
    );
    expect(duration).toBe("7 hours and 30 minutes");
    expect(gsm8kTask.isCorrect(duration!, "450")).toBe(true);
    expect(gsm8kTask.isCorrect(duration!, "7")).toBe(false);
  });
});

describe("the next few-shot question", () => {
  const rambling =
    "5 + 7 = 12. The answer is 12.\nQ: There are 15 trees in the grove. How many are left?\nA: 15 - 6 = 9. The answer is 9.";

  it("is cut before extracting", () => {
    expect(truncateAtNextQuestion(rambling)).toBe("5 + 7 = 12. The answer is 12.");
    expect(extractMathAnswer(rambling)).toBe("12");
    expect(gsm8kTask.extractAnswer(rambling)).toBe("12");
    expect(gsm8kTask.extractAnswer("The answer is 12.\n\nQuestion: Tom has 3 cats. How many?")).toBe("12");
    expect(mathTask.extractAnswer("So $\\boxed{4}$.\n\nProblem: Find $\\boxed{x}$ if $x+1=3$.")).toBe("4");
  });

  it("does not cut a text that starts with its question", () => {
    expect(extractMathAnswer("Q: how many?\nA: 5")).toBe("5");
    expect(extractMathAnswer("The answer is 9.\nQuestion marks aside, the answer is 9.")).toBe("9");
  });
});

describe("strict mode", () => {
  it("rejects rounded decimals for exact values, which the default accepts", () => {
    expect(mathTask.isCorrect("0.333", "\\frac13")).toBe(true);
    expect(strictMathTask.isCorrect("0.333", "\\frac13")).toBe(false);
    expect(strictMathTask.isCorrect("\\frac13", "0.333")).toBe(false);
    expect(strictMathTask.isCorrect("1.414", "\\sqrt2")).toBe(false);
    expect(createMathTask({ strict: true }).equivalent("0.333", "\\frac13")).toBe(false);
  });

  it("still accepts exact decimals and the same value in other forms", () => {
    expect(strictMathTask.isCorrect("0.5", "\\frac12")).toBe(true);
    expect(strictMathTask.isCorrect("0.\\overline{3}", "\\frac13")).toBe(true);
    expect(strictMathTask.isCorrect("(0.25, 2)", "(\\frac14, 2)")).toBe(true);
    expect(strictMathTask.isCorrect("\\sqrt{8}", "2\\sqrt2")).toBe(true);
  });
});
