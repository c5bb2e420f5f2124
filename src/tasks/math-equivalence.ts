/**
 * Whether two math answers mean the same thing: structure first (tuples, intervals, sets,
 * matrices, equations, ± lists), then each element as a number (exact when the values are
 * exact), an expression compared at random rational points, or plain text.
 */

import Fraction from "fraction.js";
import { seededRandom } from "../core/random.js";
import { evaluateValue } from "./latex-evaluate.js";
import { type Expression, parseLatexExpression, variablesOf } from "./latex-expression.js";
import { normalizeMathAnswer } from "./latex-normalize.js";
import { durationsMatch } from "./math-duration.js";
import {
  type Complex,
  div,
  isExact,
  isFiniteValue,
  isReal,
  real,
  roundsTo,
  toNumber,
  valuesEqual,
} from "./math-number.js";
import { NAME, type Structure, structureOf } from "./math-structure.js";

export { splitTopLevel } from "./math-structure.js";

/** How strictly answers are compared. */
export interface MathGradingOptions {
  /**
   * Strict mode: a rounded decimal never equals an exact value (`0.333` ≢ `\frac13`,
   * `1.414` ≢ `\sqrt2`). By default a decimal with three or more places matches the exact
   * value it rounds to.
   */
  strict?: boolean;
}

export function mathAnswersEquivalent(a: string, b: string, options: MathGradingOptions = {}): boolean {
  const policy: Policy = { strict: options.strict === true };
  if (unitExponentsDiffer(a, b) || temperatureScalesDiffer(a, b)) return false;
  const durations = durationsMatch(a, b, (text) => exactValueOf(normalizeMathAnswer(text)));
  if (durations !== undefined) return durations;
  const x = normalizeMathAnswer(collapseSameAlternatives(a, policy));
  const y = normalizeMathAnswer(collapseSameAlternatives(b, policy));
  const percentA = hasPercent(a);
  if (percentA === hasPercent(b)) return normalizedEquivalent(x, y, policy);
  // `50\%` is `0.5`, and `50` when the sign was dropped; but `0.5\%` is not `0.5`: a bare
  // number of at most 1 may be the fraction itself, so the sign changes the value.
  const [percentage, other] = percentA ? [x, y] : [y, x];
  if (normalizedEquivalent(`(${percentage})/100`, other, policy)) return true;
  return normalizedEquivalent(percentage, other, policy) && magnitudeAbove(percentage, 1);
}

interface Policy {
  strict: boolean;
}

/** Whether the answer ends with a percent sign (`50\%`, `12.5%.`). */
export const hasPercent = (text: string) => /\d\s*\\?%\s*\.?\s*\$?$/.test(text);

function magnitudeAbove(text: string, bound: number): boolean {
  const value = parsed(text)?.value;
  return value !== undefined && isReal(value) && Math.abs(toNumber(value)) > bound;
}

/** The exact rational value of a normalized constant answer, if it has one. */
function exactValueOf(text: string): Fraction | undefined {
  const value = parsed(text)?.value;
  return value && isReal(value) && isExact(value.re) ? value.re : undefined;
}

/** `\frac12 or 0.5`, `x=2 or x=2`: one value written twice is that value; different values stay a list. */
function collapseSameAlternatives(text: string, policy: Policy): string {
  const parts = text.split(/\s*,?\s+or\s+|\s*\\text\{\s*or\s*\}\s*/);
  if (parts.length < 2 || parts.some((part) => part.trim() === "")) return text;
  const first = normalizeMathAnswer(parts[0]!);
  const same = parts.slice(1).every((part) => normalizedEquivalent(first, normalizeMathAnswer(part), policy));
  return same ? parts[0]! : text;
}

/** `25^\circ C` and `25^\circ F` are different temperatures even though both read as 25. */
function temperatureScalesDiffer(a: string, b: string): boolean {
  const scale = (text: string) =>
    /(?:°|\\circ\s*\}?)\s*(?:\\(?:text|mathrm|mbox)\s*\{\s*)?([CFK])(?![a-zA-Z])/.exec(text)?.[1];
  const x = scale(a);
  const y = scale(b);
  return x !== undefined && y !== undefined && x !== y;
}

/** `864 \mbox{ inches}^3` and `864 \mbox{ inches}^2` differ even though units are dropped. */
function unitExponentsDiffer(a: string, b: string): boolean {
  const exponent = (text: string) =>
    /(?:(?<![\\a-zA-Z])[a-zA-Z]{2,}\s*\}?|\\(?:text|mbox|mathrm)\{[^}]*\})\s*\^\s*\{?\s*(\d)\s*\}?\s*\.?\$?$/.exec(
      text,
    )?.[1];
  const x = exponent(a);
  const y = exponent(b);
  return x !== undefined && y !== undefined && x !== y;
}

function normalizedEquivalent(a: string, b: string, policy: Policy): boolean {
  if (a === b) return true;
  if (a === "" || b === "") return false;
  const x = structureOf(a);
  const y = structureOf(b);
  if (x.kind === "scalar" && y.kind === "scalar") return scalarsEquivalent(x.text, y.text, policy);
  if (x.kind === "tuple" && y.kind === "tuple") {
    return x.open === y.open && x.close === y.close && pairwise(x.items, y.items, policy);
  }
  const itemsOf = (s: Structure) => (s.kind === "unordered" || s.kind === "list" ? s.items : undefined);
  const xs = itemsOf(x);
  const ys = itemsOf(y);
  if (xs && ys) return sameMultiset(xs, ys, policy);
  if (x.kind === "union" && y.kind === "union") return sameMultiset(x.parts, y.parts, policy);
  if (x.kind === "matrix" && y.kind === "matrix") {
    return x.rows.length === y.rows.length && x.rows.every((row, i) => pairwise(row, y.rows[i]!, policy));
  }
  if (x.kind === "equation" && y.kind === "equation") return equationsEquivalent(x, y, policy);
  // `1, 2` is the pair `(1, 2)` written without its parentheses.
  const loosePair = (l: Structure, t: Structure) =>
    l.kind === "list" &&
    t.kind === "tuple" &&
    t.open === "(" &&
    t.close === ")" &&
    pairwise(l.items, t.items, policy);
  if (loosePair(x, y) || loosePair(y, x)) return true;
  // `y=2x+3`, `AB=5`, `f(x)=2x` answer with their right-hand side.
  const solvedFor = (e: Structure, other: Structure, otherText: string) =>
    e.kind === "equation" &&
    other.kind !== "equation" &&
    NAME.test(e.left) &&
    normalizedEquivalent(e.right, otherText, policy);
  if (solvedFor(x, y, b) || solvedFor(y, x, a)) return true;
  // A column vector written as a tuple: `\begin{pmatrix}1\\2\end{pmatrix}` and `(1,2)`.
  const column = (m: Structure, t: Structure) =>
    m.kind === "matrix" &&
    t.kind === "tuple" &&
    t.open === "(" &&
    m.rows.every((row) => row.length === 1) &&
    pairwise(
      m.rows.map((row) => row[0]!),
      t.items,
      policy,
    );
  return column(x, y) || column(y, x);
}

function pairwise(xs: string[], ys: string[], policy: Policy): boolean {
  return xs.length === ys.length && xs.every((x, i) => normalizedEquivalent(x, ys[i]!, policy));
}

function sameMultiset(xs: string[], ys: string[], policy: Policy): boolean {
  if (xs.length !== ys.length) return false;
  const used = new Array<boolean>(ys.length).fill(false);
  return xs.every((x) => {
    const match = ys.findIndex((y, i) => !used[i] && normalizedEquivalent(x, y, policy));
    if (match < 0) return false;
    used[match] = true;
    return true;
  });
}

/** Same sides, or the same equation rearranged or scaled (`5x+4=0` vs `10x=-8`). */
function equationsEquivalent(
  x: { left: string; right: string },
  y: { left: string; right: string },
  policy: Policy,
): boolean {
  if (normalizedEquivalent(x.left, y.left, policy) && normalizedEquivalent(x.right, y.right, policy))
    return true;
  return proportional(`(${x.left})-(${x.right})`, `(${y.left})-(${y.right})`);
}

/** A word answer (`Evelyn`, `even`, `no solution`), compared as text rather than as a product of letters. */
function isWordAnswer(text: string): boolean {
  const withoutCommands = text.replace(/\\[a-zA-Z]+/g, " ");
  return /^[a-zA-Z\s]+$/.test(text) || /[a-zA-Z]{3,}/.test(withoutCommands);
}

const BASE_NUMBER = /^(\d+)_\{(\d+)\}$/;

/** A choice letter followed by its content, `(C)12`, against the bare letter `C`. */
function choiceLetter(text: string): string | undefined {
  return /^\(([A-Ea-e])\)/.exec(text)?.[1]?.toUpperCase() ?? (/^[A-E]$/.test(text) ? text : undefined);
}

function scalarsEquivalent(a: string, b: string, policy: Policy): boolean {
  if (/^[A-E]$/.test(a) || /^[A-E]$/.test(b)) {
    const x = choiceLetter(a);
    if (x !== undefined && x === choiceLetter(b)) return true;
  }
  // `52_{8}` is a numeral in base 8: equal only to the same digits in the same base.
  const baseA = BASE_NUMBER.exec(a);
  const baseB = BASE_NUMBER.exec(b);
  if (baseA || baseB)
    return !!baseA && !!baseB && baseA[2] === baseB[2] && BigInt(baseA[1]!) === BigInt(baseB[1]!);
  if (isWordAnswer(a) || isWordAnswer(b)) {
    const plain = (s: string) => s.toLowerCase().replace(/\s+/g, "");
    return plain(a) === plain(b);
  }
  const x = parsed(a);
  const y = parsed(b);
  if (!x || !y) return false;
  if (x.variables.length === 0 && y.variables.length === 0) {
    if (!x.value || !y.value) return false;
    if (valuesEqual(x.value, y.value)) return true;
    if (policy.strict) return false;
    return (
      (PLAIN_NUMBER.test(a) && !PLAIN_NUMBER.test(b) && roundedDecimalMatches(a, y.value)) ||
      (PLAIN_NUMBER.test(b) && !PLAIN_NUMBER.test(a) && roundedDecimalMatches(b, x.value))
    );
  }
  const variables = [...new Set([...x.variables, ...y.variables])].sort();
  return agreeAtRandomPoints(x.expression, y.expression, variables);
}

interface Parsed {
  expression: Expression;
  variables: string[];
  /** The value when there are no variables (undefined where it has none). */
  value: Complex | undefined;
}

/** Parses are kept: voting and the dataset checks compare the same strings many times. */
const PARSED = new Map<string, Parsed | null>();
const PARSED_LIMIT = 10_000;

function parsed(text: string): Parsed | undefined {
  const known = PARSED.get(text);
  if (known !== undefined) return known ?? undefined;
  let result: Parsed | null = null;
  try {
    const expression = parseLatexExpression(text);
    const variables = [...variablesOf(expression)];
    const value = variables.length === 0 ? evaluateValue(expression, new Map()) : undefined;
    result = { expression, variables, value };
  } catch {
    result = null;
  }
  if (PARSED.size >= PARSED_LIMIT) PARSED.clear();
  PARSED.set(text, result);
  return result ?? undefined;
}

function tryParse(text: string): Expression | undefined {
  return parsed(text)?.expression;
}

const PLAIN_NUMBER = /^-?(?:\d+\.?\d*|\.\d+)$/;

/**
 * A decimal with three or more places matches an exact value that rounds to it
 * (`0.333` for `\frac13`, `1.414` for `\sqrt2`), but only when the other side is not itself
 * a plain decimal, so `0.3334` still differs from `0.333`.
 */
function roundedDecimalMatches(decimalText: string, exact: Complex): boolean {
  const decimal = /^-?\d*\.(\d{3,})$/.exec(decimalText);
  return !!decimal && roundsTo(decimalText, decimal[1]!.length, exact);
}

const POINTS = 8;
const POINT_CACHE = new Map<string, Map<string, Complex>[]>();

/** Random rational points in [0.3, 2.7], the same for the same variables. */
function samplePoints(variables: string[]): Map<string, Complex>[] {
  const key = variables.join(" ");
  const known = POINT_CACHE.get(key);
  if (known) return known;
  const random = seededRandom(20240917);
  const points = Array.from(
    { length: POINTS },
    () =>
      new Map(
        variables.map(
          (name) => [name, real(new Fraction(3000 + Math.floor(24000 * random()), 10000))] as const,
        ),
      ),
  );
  if (POINT_CACHE.size >= PARSED_LIMIT) POINT_CACHE.clear();
  POINT_CACHE.set(key, points);
  return points;
}

const defined = (value: Complex | undefined): value is Complex => value !== undefined && isFiniteValue(value);

function agreeAtRandomPoints(x: Expression, y: Expression, variables: string[]): boolean {
  let compared = 0;
  for (const point of samplePoints(variables)) {
    const u = evaluateValue(x, point);
    const v = evaluateValue(y, point);
    if (defined(u) !== defined(v)) return false;
    if (!defined(u) || !defined(v)) continue;
    if (!valuesEqual(u, v)) return false;
    compared++;
  }
  return compared >= 3;
}

const ZERO = real(new Fraction(0));

function proportional(a: string, b: string): boolean {
  const x = tryParse(a);
  const y = tryParse(b);
  if (!x || !y) return false;
  const variables = [...new Set([...variablesOf(x), ...variablesOf(y)])].sort();
  let ratio: Complex | undefined;
  let compared = 0;
  for (const point of samplePoints(variables)) {
    const u = evaluateValue(x, point);
    const v = evaluateValue(y, point);
    if (!defined(u) || !defined(v)) continue;
    if (valuesEqual(v, ZERO)) {
      if (valuesEqual(u, ZERO)) continue;
      return false;
    }
    const r = div(u, v);
    if (ratio === undefined) ratio = r;
    else if (!valuesEqual(ratio, r)) return false;
    compared++;
  }
  return compared >= 3 && ratio !== undefined && !valuesEqual(ratio, ZERO);
}
