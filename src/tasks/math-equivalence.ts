/**
 * Whether two math answers mean the same thing: structure first (tuples, intervals, sets,
 * matrices, equations, ± lists), then each element as a number, an expression compared at
 * random points, or plain text.
 */

import { seededRandom } from "../core/random.js";
import { evaluateExpression, parseLatexExpression, variablesOf } from "./latex-expression.js";
import { normalizeMathAnswer } from "./latex-normalize.js";

type Structure =
  | { kind: "scalar"; text: string }
  | { kind: "tuple"; open: string; close: string; items: string[] }
  | { kind: "unordered"; items: string[] }
  | { kind: "union"; parts: string[] }
  | { kind: "matrix"; rows: string[][] }
  | { kind: "equation"; left: string; right: string };

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/** Splits at `separator` where it is not nested inside brackets or braces. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\" && depth === 0 && startsCommand(text, i, separator)) {
      parts.push(text.slice(start, i));
      i += separator.length - 1;
      start = i + 1;
      continue;
    }
    if (ch === "\\") {
      // `\{` and `\}` nest like braces; other commands are skipped whole.
      const next = text[i + 1];
      if (next === "{") depth++;
      else if (next === "}") depth--;
      i++;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      i += separator.length - 1;
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Whether `command` (e.g. `\\pm`) starts at `i` as a whole command, not as `\\pmatrix`. */
function startsCommand(text: string, i: number, command: string): boolean {
  return (
    command.startsWith("\\") &&
    text.startsWith(command, i) &&
    !/[a-zA-Z]/.test(text[i + command.length] ?? "")
  );
}

/** The outer bracket pair when it encloses the whole text (`(1,2]`), not `(a+5)(b+2)`. */
function outerBrackets(text: string): { open: string; close: string; inner: string } | undefined {
  let open = text[0];
  let innerStart = 1;
  if (text.startsWith("\\{")) {
    open = "{";
    innerStart = 2;
  }
  if (!open || !(open in OPENERS || open === "]")) return undefined;
  const last = text[text.length - 1];
  if (!last || (!")]}".includes(last) && last !== "[")) return undefined;
  const innerEnd = text.endsWith("\\}") ? text.length - 2 : text.length - 1;
  const inner = text.slice(innerStart, innerEnd);
  // The inner text must be balanced for the outer pair to belong together.
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === "\\") {
      i++;
      continue;
    }
    if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    if (depth < 0) return undefined;
  }
  if (depth !== 0) return undefined;
  return { open, close: last, inner };
}

function expandPlusMinus(item: string): string[] {
  const parts = splitTopLevel(item, "\\pm");
  if (parts.length !== 2) return [item];
  const [left, right] = parts as [string, string];
  return [`${left}+${right}`, `${left}-(${right})`];
}

function structureOf(text: string): Structure {
  const matrix = /^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$/s.exec(text);
  if (matrix) {
    const rows = matrix[2]!
      .split("\\\\")
      .map((row) => row.split("&").map((cell) => cell.trim()))
      .filter((row) => row.some((cell) => cell !== ""));
    return { kind: "matrix", rows };
  }
  const union = splitTopLevel(text, "\\cup");
  if (union.length > 1) return { kind: "union", parts: union };
  const sides = splitTopLevel(text, "=");
  if (sides.length === 2) return { kind: "equation", left: sides[0]!, right: sides[1]! };
  const brackets = outerBrackets(text);
  if (brackets) {
    const items = splitTopLevel(brackets.inner, ",");
    if (brackets.open === "{") return { kind: "unordered", items: items.flatMap(expandPlusMinus) };
    if (items.length > 1) return { kind: "tuple", open: brackets.open, close: brackets.close, items };
  }
  const items = splitTopLevel(text, ",").filter((item) => item !== "");
  const expanded = items.flatMap(expandPlusMinus);
  if (expanded.length > 1) return { kind: "unordered", items: expanded };
  return { kind: "scalar", text };
}

export function mathAnswersEquivalent(a: string, b: string): boolean {
  return normalizedEquivalent(normalizeMathAnswer(a), normalizeMathAnswer(b));
}

function normalizedEquivalent(a: string, b: string): boolean {
  if (a === b) return true;
  if (a === "" || b === "") return false;
  const x = structureOf(a);
  const y = structureOf(b);
  if (x.kind === "scalar" && y.kind === "scalar") return scalarsEquivalent(x.text, y.text);
  if (x.kind === "tuple" && y.kind === "tuple") {
    return x.open === y.open && x.close === y.close && pairwise(x.items, y.items);
  }
  if (x.kind === "unordered" && y.kind === "unordered") return sameMultiset(x.items, y.items);
  if (x.kind === "union" && y.kind === "union") return sameMultiset(x.parts, y.parts);
  if (x.kind === "matrix" && y.kind === "matrix") {
    return x.rows.length === y.rows.length && x.rows.every((row, i) => pairwise(row, y.rows[i]!));
  }
  if (x.kind === "equation" && y.kind === "equation") return equationsEquivalent(x, y);
  // `y=2x+3` answers with its right-hand side `2x+3`.
  const solvedFor = (e: Structure, other: Structure) =>
    e.kind === "equation" &&
    other.kind === "scalar" &&
    /^[a-zA-Z]$/.test(e.left) &&
    normalizedEquivalent(e.right, other.text);
  if (solvedFor(x, y) || solvedFor(y, x)) return true;
  // A column vector written as a tuple: `\begin{pmatrix}1\\2\end{pmatrix}` and `(1,2)`.
  const column = (m: Structure, t: Structure) =>
    m.kind === "matrix" &&
    t.kind === "tuple" &&
    t.open === "(" &&
    m.rows.every((row) => row.length === 1) &&
    pairwise(
      m.rows.map((row) => row[0]!),
      t.items,
    );
  return column(x, y) || column(y, x);
}

function pairwise(xs: string[], ys: string[]): boolean {
  return xs.length === ys.length && xs.every((x, i) => normalizedEquivalent(x, ys[i]!));
}

function sameMultiset(xs: string[], ys: string[]): boolean {
  if (xs.length !== ys.length) return false;
  const used = new Array<boolean>(ys.length).fill(false);
  return xs.every((x) => {
    const match = ys.findIndex((y, i) => !used[i] && normalizedEquivalent(x, y));
    if (match < 0) return false;
    used[match] = true;
    return true;
  });
}

/** Same sides, or the same equation rearranged or scaled (`5x+4=0` vs `10x=-8`). */
function equationsEquivalent(
  x: { left: string; right: string },
  y: { left: string; right: string },
): boolean {
  if (normalizedEquivalent(x.left, y.left) && normalizedEquivalent(x.right, y.right)) return true;
  const dx = `(${x.left})-(${x.right})`;
  const dy = `(${y.left})-(${y.right})`;
  return proportional(dx, dy);
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

function scalarsEquivalent(a: string, b: string): boolean {
  if (/^[A-E]$/.test(a) || /^[A-E]$/.test(b)) {
    const x = choiceLetter(a);
    if (x !== undefined && x === choiceLetter(b)) return true;
  }
  // `52_{8}` matches `52` (the base is implied by the question) but not `52_{9}`.
  const baseA = BASE_NUMBER.exec(a);
  const baseB = BASE_NUMBER.exec(b);
  if (baseA || baseB) {
    if (baseA && baseB && baseA[2] !== baseB[2]) return false;
    return (baseA?.[1] ?? a) === (baseB?.[1] ?? b);
  }
  if (isWordAnswer(a) || isWordAnswer(b)) {
    const plain = (s: string) => s.toLowerCase().replace(/\s+/g, "");
    return plain(a) === plain(b);
  }
  const x = tryParse(a);
  const y = tryParse(b);
  if (!x || !y) return false;
  const variables = new Set([...variablesOf(x), ...variablesOf(y)]);
  if (variables.size === 0) {
    const u = evaluateExpression(x, new Map());
    const v = evaluateExpression(y, new Map());
    if (numbersEqual(u, v)) return true;
    const aIsDecimal = PLAIN_NUMBER.test(a);
    const bIsDecimal = PLAIN_NUMBER.test(b);
    return (
      (aIsDecimal && !bIsDecimal && roundedDecimalMatches(a, v)) ||
      (bIsDecimal && !aIsDecimal && roundedDecimalMatches(b, u))
    );
  }
  return agreeAtRandomPoints(x, y, [...variables]);
}

function tryParse(text: string) {
  try {
    return parseLatexExpression(text);
  } catch {
    return undefined;
  }
}

const RELATIVE_TOLERANCE = 1e-9;
const PLAIN_NUMBER = /^-?(?:\d+\.?\d*|\.\d+)$/;

export function numbersEqual(u: number, v: number): boolean {
  if (Number.isNaN(u) || Number.isNaN(v)) return false;
  if (u === v) return true;
  if (!Number.isFinite(u) || !Number.isFinite(v)) return false;
  // Integers are exact: 11111111100 and 11111111101 differ.
  if (Number.isSafeInteger(u) && Number.isSafeInteger(v)) return false;
  return Math.abs(u - v) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(u), Math.abs(v));
}

/**
 * A decimal with three or more places matches an exact value that rounds to it
 * (`0.333` for `\frac13`, `1.414` for `\sqrt2`), but only when the other side is not itself
 * a plain decimal, so `0.3334` still differs from `0.333`.
 */
function roundedDecimalMatches(decimalText: string, exact: number): boolean {
  const decimal = /^-?\d*\.(\d{3,})$/.exec(decimalText);
  if (!decimal || !Number.isFinite(exact)) return false;
  const places = decimal[1]!.length;
  return Math.abs(Number(decimalText) - exact) <= 0.5 * 10 ** -places * (1 + 1e-9);
}

const POINTS = 8;

function samplePoints(variables: string[]): Map<string, number>[] {
  const random = seededRandom(20240917);
  return Array.from({ length: POINTS }, () => new Map(variables.map((name) => [name, 0.3 + 2.4 * random()])));
}

function agreeAtRandomPoints(
  x: ReturnType<typeof parseLatexExpression>,
  y: ReturnType<typeof parseLatexExpression>,
  variables: string[],
): boolean {
  let compared = 0;
  for (const point of samplePoints(variables)) {
    const u = evaluateExpression(x, point);
    const v = evaluateExpression(y, point);
    const uDefined = Number.isFinite(u);
    if (uDefined !== Number.isFinite(v)) return false;
    if (!uDefined) continue;
    if (!closeEnough(u, v)) return false;
    compared++;
  }
  return compared >= 3;
}

/** Floating-point evaluation of equal expressions drifts a little more than a direct number does. */
function closeEnough(u: number, v: number): boolean {
  if (!Number.isFinite(u) || !Number.isFinite(v)) return u === v;
  return Math.abs(u - v) <= 1e-8 * Math.max(1, Math.abs(u), Math.abs(v));
}

function proportional(a: string, b: string): boolean {
  const x = tryParse(a);
  const y = tryParse(b);
  if (!x || !y) return false;
  const variables = [...new Set([...variablesOf(x), ...variablesOf(y)])];
  let ratio: number | undefined;
  let compared = 0;
  for (const point of samplePoints(variables)) {
    const u = evaluateExpression(x, point);
    const v = evaluateExpression(y, point);
    if (!Number.isFinite(u) || !Number.isFinite(v)) continue;
    if (Math.abs(v) < 1e-12) {
      if (Math.abs(u) < 1e-12) continue;
      return false;
    }
    const r = u / v;
    if (ratio === undefined) ratio = r;
    else if (!closeEnough(ratio, r)) return false;
    compared++;
  }
  return compared >= 3 && ratio !== undefined && Math.abs(ratio) > 1e-12;
}
