/** Math answer tasks: GSM8K (a number) and MATH-style LaTeX answers (MATH-500, AIME, AMC). */
import { referenceTask } from "../core/types.js";
import { evaluateValue } from "./latex-evaluate.js";
import { parseLatexExpression, variablesOf } from "./latex-expression.js";
import { normalizeMathAnswer } from "./latex-normalize.js";
import { compoundDuration, durationsMatch } from "./math-duration.js";
import { hasPercent, type MathGradingOptions, mathAnswersEquivalent } from "./math-equivalence.js";
import { extractLastNumber, extractMathAnswer } from "./math-extraction.js";
import { rewriteNumberWords } from "./math-forms.js";
import { exactDecimal, isExact, isReal, toNumber } from "./math-number.js";

export { evaluateExpression } from "./latex-evaluate.js";
export { parseLatexExpression } from "./latex-expression.js";
export { matchBraces, normalizeMathAnswer } from "./latex-normalize.js";
export { type MathGradingOptions, mathAnswersEquivalent } from "./math-equivalence.js";
export {
  extractBoxedAnswer,
  extractHashAnswer,
  extractLastNumber,
  extractMathAnswer,
  extractStatedAnswer,
  truncateAtNextQuestion,
} from "./math-extraction.js";
export { numberFromWords } from "./math-forms.js";

/** A plain decimal number in canonical form (`1,000.50` → `1000.5`), or undefined when the text is not one. */
export function parsePlainNumber(text: string): string | undefined {
  const s = text.replace(/(\d),(?=\d{3}(?!\d))/g, "$1");
  if (!/^-?(?:\d+\.?\d*|\.\d+)$/.test(s)) return undefined;
  let canonical = s.replace(/^(-?)0+(?=\d)/, "$1").replace(/^(-?)\./, "$10.");
  if (canonical.includes(".")) canonical = canonical.replace(/0+$/, "").replace(/\.$/, "");
  return canonical === "-0" ? "0" : canonical;
}

/** GSM8K answers are numbers: `$1,000.`, `18 dollars`, `\boxed{18}` all become `18`. */
export function normalizeGsm8kAnswer(raw: string): string {
  const normalized = normalizeMathAnswer(raw);
  const direct = parsePlainNumber(normalized);
  if (direct !== undefined) return direct;
  const value = constantValue(normalized);
  if (value !== undefined) return value;
  const last = extractLastNumber(normalized);
  if (last !== undefined) {
    const number = parsePlainNumber(last);
    if (number !== undefined) return number;
  }
  return normalized;
}

/**
 * The value of an expression without variables (`\frac{1}{2}` → `0.5`, `3\cdot 4` → `12`), as
 * an exact decimal when it has one, else to 12 significant digits.
 */
function constantValue(text: string): string | undefined {
  try {
    const expression = parseLatexExpression(text);
    if (variablesOf(expression).size > 0) return undefined;
    const value = evaluateValue(expression, new Map());
    if (value === undefined || !isReal(value)) return undefined;
    if (isExact(value.re)) {
      const decimal = value.re.toString(20);
      if (!decimal.includes("(") && decimal.length < 40) return parsePlainNumber(decimal);
    }
    const number = toNumber(value);
    return Number.isFinite(number) ? String(Number(number.toPrecision(12))) : undefined;
  } catch {
    return undefined;
  }
}

const gsm8kValue = (text: string) => exactDecimal(parsePlainNumber(normalizeGsm8kAnswer(text)) ?? "");

function gsm8kEquivalent(a: string, b: string): boolean {
  const durations = durationsMatch(a, b, gsm8kValue);
  if (durations !== undefined) return durations;
  const x = gsm8kValue(a);
  const y = gsm8kValue(b);
  if (x !== undefined && y !== undefined) {
    const percentA = hasPercent(a);
    if (percentA === hasPercent(b)) return x.equals(y);
    // `5%` is `5` with its sign dropped, or `0.05`; `0.5%` is not `0.5` (see mathAnswersEquivalent).
    const [percentage, other] = percentA ? [x, y] : [y, x];
    return percentage.div(100).equals(other) || (percentage.equals(other) && percentage.abs().compare(1) > 0);
  }
  return mathAnswersEquivalent(a, b);
}

/** "5 because 2+3" or "18 dollars a day, or 126 a week": a number followed by words is the answer. */
function leadingNumber(stated: string): string | undefined {
  const afterEquals = stated.slice(stated.lastIndexOf("=") + 1);
  return /^\s*\$?\s*(-?[\d,]*\.?\d+)\s+[a-z]/i.exec(afterEquals)?.[1];
}

export const gsm8kTask = referenceTask({
  name: "gsm8k",
  extractAnswer(text) {
    const extracted = extractMathAnswer(text);
    if (extracted === undefined) return undefined;
    // `7 hours and 30 minutes` is kept whole: its value depends on the unit the reference uses.
    if (compoundDuration(extracted)) return extracted.trim();
    const raw = rewriteNumberWords(extracted);
    return normalizeGsm8kAnswer(leadingNumber(raw) ?? raw);
  },
  equivalent: gsm8kEquivalent,
  isCorrect: gsm8kEquivalent,
});

/**
 * The MATH-style task. `strict` rejects rounded decimals for exact values (`0.333` for
 * `\frac13`); the default accepts a decimal of three or more places that rounds to the value.
 */
export function createMathTask(options: MathGradingOptions = {}) {
  const equivalent = (a: string, b: string) => mathAnswersEquivalent(a, b, options);
  return referenceTask({
    name: "math",
    extractAnswer(text: string) {
      return extractMathAnswer(text);
    },
    equivalent,
    isCorrect: equivalent,
  });
}

export const mathTask = createMathTask();
export const strictMathTask = createMathTask({ strict: true });
