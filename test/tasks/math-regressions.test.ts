/** Answer pairs the grader once got wrong: each failed before the fix it names. */
import { describe, expect, it } from "vitest";
import { extractBoxedAnswer, gsm8kTask, mathAnswersEquivalent, mathTask } from "../../src/tasks/math.js";

function expectEquivalent(a: string, b: string, equal: boolean): void {
  expect(mathAnswersEquivalent(a, b), `${a} vs ${b}`).toBe(equal);
  expect(mathAnswersEquivalent(b, a), `${b} vs ${a}`).toBe(equal);
}

describe("numbers: exact where exact, relative where not", () => {
  it.each([
    ["1e-10", "2e-10"],
    ["6.6\\times10^{-34}", "6.7\\times10^{-34}"],
    ["1.0000000001", "1"],
    ["123456789.1", "123456789.2"],
    ["\\sqrt{2}\\cdot10^{-20}", "\\sqrt{3}\\cdot10^{-20}"],
    ["x^2+10^{-12}x", "x^2"],
  ])("small differences count: %s ≢ %s", (a, b) => expectEquivalent(a, b, false));

  it.each([
    ["2^{2005}", "2^{2006}"],
    ["10^{400}", "10^{401}"],
    ["x^{2005}", "x^{2006}"],
  ])("powers do not overflow: %s ≢ %s", (a, b) => expectEquivalent(a, b, false));

  it.each([
    ["2^{64}", "18446744073709551617"],
    ["25!", "15511210043330985984000001"],
    ["\\binom{60}{30}", "118264581564861425"],
    ["(2^{60}+1)x", "2^{60}x"],
  ])("integers beyond 2^53 are exact: %s ≢ %s", (a, b) => expectEquivalent(a, b, false));

  it.each([
    ["2^{64}", "18446744073709551616"],
    ["2^{2006}", "2\\cdot 2^{2005}"],
    ["10^{400}", "100^{200}"],
    ["6.6\\times10^{-34}", "0.00000000000000000000000000000000066"],
    ["10^{-20}\\sqrt{8}", "2\\sqrt{2}\\cdot 10^{-20}"],
    ["0.1+0.2", "0.3"],
  ])("equal values stay equal: %s ≡ %s", (a, b) => expectEquivalent(a, b, true));

  it("GSM8K compares big integers exactly", () => {
    expect(gsm8kTask.isCorrect("9007199254740993", "9007199254740992")).toBe(false);
    expect(gsm8kTask.isCorrect("12345678901234567890", "12345678901234567891")).toBe(false);
    expect(gsm8kTask.isCorrect("0.1", "0.10000000001")).toBe(false);
    expect(gsm8kTask.isCorrect("12,345,678,901,234,567,890", "12345678901234567890")).toBe(true);
  });
});

describe("function notation", () => {
  it("f(0) is a function value, not a product", () => {
    expectEquivalent("f(0)", "0", false);
    expectEquivalent("f(0)", "g(0)", false);
    expectEquivalent("f(0)", "f(1)", false);
    expectEquivalent("f(1+1)", "f(2)", true);
  });

  it("a letter before parentheses is still a product", () => {
    expectEquivalent("x(x+1)", "x^2+x", true);
  });
});

describe("missed equivalences", () => {
  it("braced thousands separator", () => {
    expectEquivalent("10{,}000", "10000", true);
    expectEquivalent("10{,}000", "10{,}001", false);
  });

  it.each([
    ["AB=5", "5"],
    ["a_1=3", "3"],
    ["a_{10}=3", "3"],
    ["f(x)=2x", "2x"],
    ["P(x)=x^2-1", "(x-1)(x+1)"],
  ])("a name before =: %s ≡ %s", (a, b) => expectEquivalent(a, b, true));

  it("a name before = still needs the right value", () => {
    expectEquivalent("AB=5", "6", false);
    expectEquivalent("f(x)=2x", "2x+1", false);
  });

  it("answers joined by and/or, or given in several boxes", () => {
    expectEquivalent("2 \\text{ and } 3", "2, 3", true);
    expectEquivalent("x=2 \\text{ or } x=3", "3,2", true);
    expectEquivalent("x=2 \\text{ or } x=-3", "2,3", false);
    expectEquivalent("\\boxed{2}, \\boxed{3}", "2,3", true);
    expect(extractBoxedAnswer("so $\\boxed{2}$ and $\\boxed{3}$.")).toBe("2, 3");
    // Two forms of one answer offered with "or", and intermediate boxes, are not joined.
    expect(extractBoxedAnswer("$\\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$")).toBe(
      "\\frac{639}{40}",
    );
    expect(extractBoxedAnswer("\\boxed{1} then \\boxed{2}")).toBe("2");
  });

  it("ordered pairs without parentheses or with labels", () => {
    expectEquivalent("x=1, y=2", "(1,2)", true);
    expectEquivalent("x=2, y=1", "(1,2)", false);
    expectEquivalent("(x,y)=(1,2)", "(1,2)", true);
    expectEquivalent("1, 2", "(1,2)", true);
    expectEquivalent("2, 1", "(1,2)", false);
  });

  it("the reals, the empty set and array matrices", () => {
    expectEquivalent("\\mathbb{R}", "(-\\infty,\\infty)", true);
    expectEquivalent("\\mathbb{R}", "(0,\\infty)", false);
    expectEquivalent("\\varnothing", "\\emptyset", true);
    expectEquivalent("\\varnothing", "\\{\\}", true);
    expectEquivalent("\\varnothing", "0", false);
    expectEquivalent(
      "\\left(\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right)",
      "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
      true,
    );
    expectEquivalent(
      "\\left(\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right)",
      "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}",
      false,
    );
  });

  it("i is the imaginary unit and e is Euler's number", () => {
    expectEquivalent("i^2", "-1", true);
    expectEquivalent("(1+i)^2", "2i", true);
    expectEquivalent("\\frac{3+4i}{1-2i}", "-1+2i", true);
    expectEquivalent("|3+4i|", "5", true);
    expectEquivalent("e^{i\\pi}", "-1", true);
    expectEquivalent("\\ln(e^3)", "3", true);
    expectEquivalent("i", "-i", false);
    expectEquivalent("e", "2.7", false);
  });

  it("floor and ceiling", () => {
    expectEquivalent("\\lfloor 3.7 \\rfloor", "3", true);
    expectEquivalent("\\left\\lceil \\frac{7}{2} \\right\\rceil", "4", true);
    expectEquivalent("\\lfloor \\sqrt{10} \\rfloor", "3", true);
    expectEquivalent("\\lfloor 3.7 \\rfloor", "4", false);
  });
});

describe("GSM8K extraction", () => {
  it("an exclamation mark after the answer is not a factorial", () => {
    expect(gsm8kTask.extractAnswer("The answer is 18!")).toBe("18");
    expect(gsm8kTask.extractAnswer("So the answer is 18! Great.")).toBe("18");
    expect(mathTask.extractAnswer("The answer is $5!$.")).toBe("5!");
  });
});

describe("units, percent, inequalities and bases", () => {
  it("unit exponents matter", () => {
    expectEquivalent("864 \\mbox{ inches}^3", "864 \\mbox{ inches}^2", false);
    expectEquivalent("15\\mbox{ cm}^2", "15", true);
  });

  it("a percentage is also a fraction", () => {
    expectEquivalent("50\\%", "0.5", true);
    expectEquivalent("50\\%", "50", true);
    expectEquivalent("50\\%", "0.05", false);
  });

  it("an inequality is an interval", () => {
    expectEquivalent("-2\\le x\\le 7", "[-2,7]", true);
    expectEquivalent("-2< x\\le 7", "(-2,7]", true);
    expectEquivalent("-2\\le x\\le 7", "(-2,7)", false);
    expectEquivalent("x \\ge 3", "[3,\\infty)", true);
  });

  it("a one-letter unit is dropped", () => {
    expectEquivalent("5 \\text{ m}", "5", true);
    expectEquivalent("5 \\text{ m}", "6", false);
  });

  it("a numeral in another base is not the decimal numeral", () => {
    expectEquivalent("52_8", "52", false);
    expectEquivalent("52_8", "52_{8}", true);
    expectEquivalent("52_8", "52_9", false);
  });
});
