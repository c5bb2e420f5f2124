/** Math answer tasks: GSM8K (a number) and MATH-style LaTeX answers (MATH-500, AIME, AMC). */
import type { Task } from "../core/types.js";
import { evaluateExpression, parseLatexExpression, variablesOf } from "./latex-expression.js";
import { normalizeMathAnswer } from "./latex-normalize.js";
import { mathAnswersEquivalent, numbersEqual } from "./math-equivalence.js";
import { extractLastNumber, extractMathAnswer } from "./math-extraction.js";

export { evaluateExpression, parseLatexExpression } from "./latex-expression.js";
export { matchBraces, normalizeMathAnswer } from "./latex-normalize.js";
export { mathAnswersEquivalent } from "./math-equivalence.js";
export {
  extractBoxedAnswer,
  extractHashAnswer,
  extractLastNumber,
  extractMathAnswer,
  extractStatedAnswer,
} from "./math-extraction.js";

/** A plain decimal number in canonical form, or undefined when the text is not one. */
export function parsePlainNumber(text: string): number | undefined {
  const s = text.replace(/(\d),(?=\d{3}(?!\d))/g, "$1");
  if (!/^-?(?:\d+\.?\d*|\.\d+)$/.test(s)) return undefined;
  return Number(s);
}

/** GSM8K answers are numbers: `$1,000.`, `18 dollars`, `\boxed{18}` all become `18`. */
export function normalizeGsm8kAnswer(raw: string): string {
  const normalized = normalizeMathAnswer(raw);
  const direct = parsePlainNumber(normalized);
  if (direct !== undefined) return String(direct);
  const value = constantValue(normalized);
  if (value !== undefined) return String(Number(value.toPrecision(12)));
  const last = extractLastNumber(normalized);
  if (last !== undefined) {
    const value = parsePlainNumber(last);
    if (value !== undefined) return String(value);
  }
  return normalized;
}

/** The value of an expression without variables (`\\frac{1}{2}`, `3\\cdot 4`), if it has one. */
function constantValue(text: string): number | undefined {
  try {
    const expression = parseLatexExpression(text);
    if (variablesOf(expression).size > 0) return undefined;
    const value = evaluateExpression(expression, new Map());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function gsm8kEquivalent(a: string, b: string): boolean {
  const x = parsePlainNumber(normalizeGsm8kAnswer(a));
  const y = parsePlainNumber(normalizeGsm8kAnswer(b));
  if (x !== undefined && y !== undefined) return numbersEqual(x, y);
  return mathAnswersEquivalent(a, b);
}

/** "5 because 2+3" or "18 dollars a day, or 126 a week": a number followed by words is the answer. */
function leadingNumber(stated: string): string | undefined {
  const afterEquals = stated.slice(stated.lastIndexOf("=") + 1);
  return /^\s*\$?\s*(-?[\d,]*\.?\d+)\s+[a-z]/i.exec(afterEquals)?.[1];
}

export const gsm8kTask: Task = {
  name: "gsm8k",
  extractAnswer(text) {
    const raw = extractMathAnswer(text);
    return raw === undefined ? undefined : normalizeGsm8kAnswer(leadingNumber(raw) ?? raw);
  },
  equivalent: gsm8kEquivalent,
  isCorrect: gsm8kEquivalent,
};

export const mathTask: Task = {
  name: "math",
  extractAnswer(text) {
    return extractMathAnswer(text);
  },
  equivalent: mathAnswersEquivalent,
  isCorrect: mathAnswersEquivalent,
};
