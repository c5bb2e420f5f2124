/**
 * The shape of a normalized math answer: a scalar, a tuple or interval, a set or bare list, a
 * union, a matrix or an equation, so that each part can be compared on its own.
 */

export type Structure =
  | { kind: "scalar"; text: string }
  | { kind: "tuple"; open: string; close: string; items: string[] }
  /** `\{1,2\}`: a set, compared without order. */
  | { kind: "unordered"; items: string[] }
  /** `1, 2` without brackets: a set of solutions, or an ordered pair written loosely. */
  | { kind: "list"; items: string[] }
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

/** A name given a value: `x`, `AB` (a segment; `xy=6` stays an equation), `a_1`, `a_{10}`, `f(x)`, `\theta`. */
export const NAME =
  /^(?:[a-zA-Z]|[A-Z]{2,3}|[a-zA-Z]_\{?[a-zA-Z0-9]+\}?|[a-zA-Z]\([a-z0-9]\)|\\(?:alpha|beta|gamma|theta|phi|lambda|mu|omega))$/;

const MATRIX = /^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$/s;

function matrixOf(text: string): Structure | undefined {
  // `\left(\begin{array}{cc}…\end{array}\right)`: an array in brackets is a matrix.
  const bracketed = /^[([]\\begin\{array\}.*\\end\{array\}[)\]]$/s.test(text) ? text.slice(1, -1) : text;
  const matrix = MATRIX.exec(bracketed);
  if (!matrix) return undefined;
  const rows = matrix[2]!
    .split("\\\\")
    .map((row) => row.split("&").map((cell) => cell.trim()))
    .filter((row) => row.some((cell) => cell !== ""));
  return { kind: "matrix", rows };
}

const LESS = "(<|\\\\le)\\s?";
const GREATER = "(>|\\\\ge)\\s?";
const BOUND = "((?:(?!\\\\[lg]e(?![a-zA-Z]))[^<>=])+)";
const VARIABLE = "[a-zA-Z]";

const BETWEEN = new RegExp(`^${BOUND}${LESS}${VARIABLE}${LESS}${BOUND}$`);
const BETWEEN_REVERSED = new RegExp(`^${BOUND}${GREATER}${VARIABLE}${GREATER}${BOUND}$`);
const BELOW = new RegExp(`^${VARIABLE}${LESS}${BOUND}$`);
const ABOVE = new RegExp(`^${VARIABLE}${GREATER}${BOUND}$`);

/** `-2\le x<7` → `[-2,7)`, `x\ge3` → `[3,\infty)`: an inequality in one variable as an interval. */
function intervalOfInequality(text: string): Structure | undefined {
  if (!/[<>]|\\[lg]e/.test(text)) return undefined;
  const bracket = (op: string, open: boolean) => (op.length > 1 ? (open ? "[" : "]") : open ? "(" : ")");
  let m = BETWEEN.exec(text);
  if (m)
    return { kind: "tuple", open: bracket(m[2]!, true), close: bracket(m[3]!, false), items: [m[1]!, m[4]!] };
  m = BETWEEN_REVERSED.exec(text);
  if (m)
    return { kind: "tuple", open: bracket(m[3]!, true), close: bracket(m[2]!, false), items: [m[4]!, m[1]!] };
  m = BELOW.exec(text);
  if (m) return { kind: "tuple", open: "(", close: bracket(m[1]!, false), items: ["-\\infty", m[2]!] };
  m = ABOVE.exec(text);
  if (m) return { kind: "tuple", open: bracket(m[1]!, true), close: ")", items: [m[2]!, "\\infty"] };
  return undefined;
}

/**
 * `x=1, y=2` is the pair `(1,2)`; `x=2, x=3` (from `x=2 or x=3`) the solutions `2, 3`;
 * `(x,y)=(1,2)` the pair `(1,2)`.
 */
function labelledValues(text: string): Structure | undefined {
  const sides = splitTopLevel(text, "=");
  if (sides.length === 2 && /^\([a-zA-Z](?:,[a-zA-Z])+\)$/.test(sides[0]!)) {
    const right = outerBrackets(sides[1]!);
    if (right?.open === "(")
      return { kind: "tuple", open: "(", close: ")", items: splitTopLevel(right.inner, ",") };
  }
  const items = splitTopLevel(text, ",").filter((item) => item !== "");
  if (items.length < 2) return undefined;
  const pairs = items.map((item) => splitTopLevel(item, "="));
  if (!pairs.every((pair) => pair.length === 2 && NAME.test(pair[0]!) && pair[1] !== "")) return undefined;
  const names = new Set(pairs.map((pair) => pair[0]));
  const values = pairs.flatMap((pair) => expandPlusMinus(pair[1]!));
  if (names.size === 1) return { kind: "list", items: values };
  if (names.size === pairs.length) return { kind: "tuple", open: "(", close: ")", items: values };
  return undefined;
}

export function structureOf(text: string): Structure {
  const matrix = matrixOf(text);
  if (matrix) return matrix;
  const union = splitTopLevel(text, "\\cup");
  if (union.length > 1) return { kind: "union", parts: union };
  const labelled = labelledValues(text);
  if (labelled) return labelled;
  const inequality = intervalOfInequality(text);
  if (inequality) return inequality;
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
  if (expanded.length > 1) return { kind: "list", items: expanded };
  return { kind: "scalar", text };
}
