import { describe, expect, it } from "vitest";
import {
  extractBoxedAnswer,
  extractHashAnswer,
  extractLastNumber,
  extractMathAnswer,
  extractStatedAnswer,
  gsm8kTask,
  mathTask,
} from "../../src/tasks/math.js";

describe("extractBoxedAnswer", () => {
  it("reads nested braces", () => {
    expect(extractBoxedAnswer("so $\\boxed{\\frac{\\sqrt{3}}{2}}$.")).toBe("\\frac{\\sqrt{3}}{2}");
  });

  it("takes the last box", () => {
    expect(extractBoxedAnswer("\\boxed{1} then \\boxed{2} and finally \\boxed{3}")).toBe("3");
  });

  it("accepts \\fbox and the brace-less \\boxed 5", () => {
    expect(extractBoxedAnswer("\\fbox{7}")).toBe("7");
    expect(extractBoxedAnswer("thus $\\boxed 5$.")).toBe("5");
  });

  it("ignores an unclosed box at the end of a truncated text", () => {
    expect(extractBoxedAnswer("\\boxed{3} ... \\boxed{\\frac{1")).toBe("3");
  });

  it("keeps escaped braces of a set inside the box", () => {
    expect(extractBoxedAnswer("\\boxed{\\{1,2\\}}")).toBe("\\{1,2\\}");
  });

  it("keeps matrix row breaks", () => {
    expect(extractBoxedAnswer("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}")).toBe(
      "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    );
  });

  it("returns undefined without a box, or for an empty one", () => {
    expect(extractBoxedAnswer("no box here")).toBeUndefined();
    expect(extractBoxedAnswer("\\boxed{}")).toBeUndefined();
  });
});

describe("extractHashAnswer", () => {
  it("reads the rest of the last #### line", () => {
    expect(extractHashAnswer("work\n#### 1,000\n")).toBe("1,000");
    expect(extractHashAnswer("no marker")).toBeUndefined();
  });
});

describe("extractStatedAnswer", () => {
  it.each([
    ["The answer is $\\frac{1}{2}$.", "\\frac{1}{2}"],
    ["**Final Answer:** 18", "18"],
    ["Final answer: 42 dollars.", "42 dollars"],
    ["the final answer is 3.5. Next we check", "3.5"],
    ["Answer: (B)", "(B)"],
    ["Q: how many?\nA: 5", "5"],
    ["The answer is \\(x^2\\).", "x^2"],
    ["The answer is $5 + $7 = $12", "$5 + $7 = $12"],
  ])("%s → %s", (text, expected) => {
    expect(extractStatedAnswer(text)).toBe(expected);
  });

  it("prefers the last cue", () => {
    expect(extractStatedAnswer("The answer is 3.\nWait, recheck. The answer is 4.")).toBe("4");
  });
});

describe("extractLastNumber", () => {
  it("skips GSM8K calculator annotations and keeps grouping commas", () => {
    expect(extractLastNumber("She has <<3*4=12>>12 apples and 2 pears.")).toBe("2");
    expect(extractLastNumber("a total of 1,250 dollars")).toBe("1,250");
    expect(extractLastNumber("it went from 5 to -3.5")).toBe("-3.5");
    expect(extractLastNumber("none")).toBeUndefined();
  });
});

describe("extractMathAnswer priority", () => {
  it("box beats ####, which beats a stated answer, which beats the last number", () => {
    expect(extractMathAnswer("The answer is 4.\n#### 5\n\\boxed{6}")).toBe("6");
    expect(extractMathAnswer("The answer is 4.\n#### 5")).toBe("5");
    expect(extractMathAnswer("The answer is 4. Checked with 7 cases")).toBe("4");
    expect(extractMathAnswer("We get 7, then 9")).toBe("9");
    expect(extractMathAnswer("I do not know")).toBeUndefined();
  });
});

describe("task extraction", () => {
  it("gsm8k reduces the extracted answer to a number", () => {
    expect(gsm8kTask.extractAnswer("The answer is $1,000.")).toBe("1000");
    expect(gsm8kTask.extractAnswer("Final answer: 42 dollars.")).toBe("42");
    expect(gsm8kTask.extractAnswer("\\boxed{\\dfrac{1}{2}}")).toBe("0.5");
    expect(gsm8kTask.extractAnswer("The answer is $5 + $7 = $12")).toBe("12");
    expect(gsm8kTask.extractAnswer("#### -10")).toBe("-10");
    expect(gsm8kTask.extractAnswer("The answer is 5 because 2+3 makes 5 and not 3")).toBe("5");
    expect(gsm8kTask.extractAnswer("So the answer is 18 dollars a day, or 126 a week")).toBe("18");
    expect(gsm8kTask.extractAnswer("The answer is 12 + 3 = 15 apples")).toBe("15");
  });

  it("math keeps the LaTeX as written", () => {
    expect(mathTask.extractAnswer("so $\\boxed{\\dfrac{1}{2}}$")).toBe("\\dfrac{1}{2}");
  });
});
