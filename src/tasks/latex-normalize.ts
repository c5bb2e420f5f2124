/**
 * Canonical string form of a math answer: strips presentation (math delimiters, `\left`,
 * `\dfrac`, spacing commands, degree signs, units, `\text{}` wrappers) so that equal answers
 * written differently usually become the same string before any numeric comparison.
 */

import { rewriteInformalForms, rewriteNumberWords } from "./math-forms.js";

/** The content of the braced group that opens at `open` (index of `{`), skipping escaped braces. */
export function matchBraces(text: string, open: number): { content: string; end: number } | undefined {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "{") depth++;
    else if (ch === "}") {
      depth--;
      if (depth === 0) return { content: text.slice(open + 1, i), end: i + 1 };
    }
  }
  return undefined;
}

/** Replaces every `\name{...}` by what `replace` returns for its content. */
function rewriteCommand(text: string, names: string[], replace: (content: string) => string): string {
  const pattern = new RegExp(`\\\\(?:${names.join("|")})(?![a-zA-Z])\\s*`, "g");
  let result = "";
  let last = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const open = match.index + match[0].length;
    if (text[open] !== "{") continue;
    const group = matchBraces(text, open);
    if (!group) continue;
    result += text.slice(last, match.index) + replace(group.content);
    last = group.end;
    pattern.lastIndex = group.end;
  }
  return result + text.slice(last);
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** Rewrites `\frac12`, `\frac 59`, `\frac{270}7`, `\sqrt3` into fully braced form. */
export function braceCommandArguments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const command = /^\\(frac|sqrt)(?![a-zA-Z])/.exec(text.slice(i));
    if (!command) {
      out += text[i];
      i++;
      continue;
    }
    out += command[0];
    i += command[0].length;
    if (command[1] === "sqrt" && text[i] === "[") {
      const close = text.indexOf("]", i);
      if (close < 0) continue;
      out += text.slice(i, close + 1);
      i = close + 1;
    }
    for (let argument = 0; argument < (command[1] === "frac" ? 2 : 1); argument++) {
      while (text[i] === " ") i++;
      if (text[i] === "{") {
        const group = matchBraces(text, i);
        if (!group) break;
        out += `{${braceCommandArguments(group.content)}}`;
        i = group.end;
      } else if (text[i] === "(") {
        // `\sqrt(2)`: parentheses used as the argument.
        const close = matchingParen(text, i);
        if (close < 0) break;
        out += `{${braceCommandArguments(text.slice(i + 1, close))}}`;
        i = close + 1;
      } else if (text[i] === "\\") {
        const name = /^\\[a-zA-Z]+/.exec(text.slice(i))?.[0] ?? text.slice(i, i + 2);
        out += `{${name}}`;
        i += name.length;
      } else if (i < text.length) {
        out += `{${text[i]}}`;
        i++;
      }
    }
  }
  return out;
}

const TEXT_WRAPPERS = [
  "text",
  "textbf",
  "textit",
  "textrm",
  "mbox",
  "mathrm",
  "mathbf",
  "mathit",
  "operatorname",
];
/** Spacing commands; a `\\\\` row break is matched first so that `\\\\ ` is not read as `\\ `. */
const SPACING = /\\\\|\\[,!;:> ]|\\q?quad(?![a-zA-Z])|~/g;
const GROUPED_NUMBER = /^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
/** A unit with a slash after a number: `10 m/s`, `9.8 m/s^2`, `60 km/h`. */
const TRAILING_RATE_UNIT =
  /(?<=[\d}).\s])\s*(?<![\\a-zA-Z])[a-zA-Z]+(?:\/[a-zA-Z]+)+(?:\s*\^\{?\d\}?)?\s*\.?$/;
/** A one-letter SI unit after a number and a space (`9 m`, `5 g`); never a variable such as `x`. */
const TRAILING_LETTER_UNIT = /(?<=\d)\s+[mgsLhNJWVK]\s*\.?$/;
/** A temperature scale after a degree mark: `25^\circ C`, `25°\text{F}`. */
const DEGREE_SCALE =
  /(\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|°)\s*(?:\\(?:text|mathrm|mbox)\s*\{\s*([CFK])\s*\}|([CFK])(?![a-zA-Z]))/g;

/** A trailing unit word after a number (`5.4 cents`, `864 inches^2`), never a command like `\pi`. */
const TRAILING_UNIT =
  /(?<=[\d}).\s])\s*(?<![\\a-zA-Z])[a-zA-Z]{2,}(?:\s+[a-zA-Z]{2,})*(?:\s*\^\{?\d\}?)?\s*\.?$/;

function stripOuterDelimiters(text: string): string {
  let s = text.trim();
  for (;;) {
    const before = s;
    if (s.startsWith("$$") && s.endsWith("$$") && s.length >= 4) s = s.slice(2, -2).trim();
    else if (s.startsWith("$") && s.endsWith("$") && !s.endsWith("\\$") && s.length >= 2)
      s = s.slice(1, -1).trim();
    else if (/^\\[([]/.test(s) && /\\[)\]]$/.test(s)) s = s.slice(2, -2).trim();
    if (s === before) return s;
  }
}

/** Removes spaces, keeping one where it separates a command from a following letter (`\cot x`). */
function removeSpaces(text: string): string {
  return text.replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])|\s+/g, (_match, command?: string) =>
    command ? `${command} ` : "",
  );
}

/** `27.0` → `27`, `.5` → `0.5`, `1.50` → `1.5` for a whole-number answer. */
function canonicalNumber(text: string): string {
  if (!/^-?(?:\d+\.?\d*|\.\d+)$/.test(text)) return text;
  let s = text.replace(/^(-?)\./, "$10.");
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  if (s === "-0") s = "0";
  return s;
}

const UNICODE: Record<string, string> = {
  "\u2212": "-",
  "\u2013": "-",
  "\u00d7": "\\times ",
  "\u22c5": "\\cdot ",
  "\u00b7": "\\cdot ",
  "\u00f7": "\\div ",
  "\u03c0": "\\pi ",
  "\u221a": "\\sqrt",
  "\u221e": "\\infty ",
  "\u00b1": "\\pm ",
  "\u2264": "\\le ",
  "\u2265": "\\ge ",
  "\u222a": "\\cup ",
  "\u00a0": " ",
};

/** Plain-text math that models sometimes write instead of LaTeX: `−3`, `2π`, `√2`. */
function replaceUnicode(text: string): string {
  return text.replace(
    /[\u2212\u2013\u00d7\u22c5\u00b7\u00f7\u03c0\u221a\u221e\u00b1\u2264\u2265\u222a\u00a0]/g,
    (ch) => UNICODE[ch] ?? ch,
  );
}

/** `2 and 3`, `x=2 or x=3`: several answers joined by words become a list. */
function joinAlternatives(text: string): string {
  if (!/[\d=\\]/.test(text)) return text;
  const parts = text.split(/\s*,?\s+(?:and|or)\s+|^\s*(?:and|or)\s+/);
  if (parts.length < 2 || parts.some((part) => part.trim() === "")) return text;
  return parts.map((part) => part.trim()).join(",");
}

export function normalizeMathAnswer(answer: string): string {
  let s = stripOuterDelimiters(replaceUnicode(answer));
  // `\boxed{\boxed{5}}`: boxes inside boxes.
  for (let before = ""; before !== s; ) {
    before = s;
    s = stripOuterDelimiters(rewriteCommand(s, ["boxed", "fbox"], (content) => content));
  }
  s = s.replace(/\\\$/g, "").replace(/\$/g, "");
  s = rewriteInformalForms(s);
  s = s.replace(/\\[dt]frac(?![a-zA-Z])/g, "\\frac");
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle)(?![a-zA-Z])/g, "");
  s = s.replace(DEGREE_SCALE, "$1");
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|°/g, "");
  s = s.replace(/\\%|%/g, "");
  // `10{,}000`: a braced comma is a thousands separator.
  s = s.replace(/\{,\}/g, ",");
  s = s.replace(SPACING, (match) => (match === "\\\\" ? match : " "));
  // A one-letter unit in text after a number (`5 \text{ m}`), which would otherwise read as a variable.
  // Not `2\mathrm{i}` or `\text{e}`, and only with a space before the letter.
  s = s.replace(
    /(?<=[\d}])(?:\s+\\(?:text|mbox)\{\s*|\s*\\(?:text|mbox)\{\s+)(?![ie]\b)[a-zA-Z]\s*\}(?:\^\{?\d\}?)?\s*\.?$/,
    "",
  );
  s = rewriteCommand(s, TEXT_WRAPPERS, (content) => ` ${content} `);
  s = rewriteNumberWords(s.trim());
  s = joinAlternatives(s);
  s = s.replace(/\\mathbb\s*\{?R\}?/g, "(-\\infty,\\infty)");
  s = s.replace(/\\(?:varnothing|emptyset)(?![a-zA-Z])|^\\\{\s*\\\}$|^\{\s*\}$/g, "\\emptyset");
  s = s.replace(/\\(?:infinity|inf)(?![a-zA-Z])/g, "\\infty").replace(/\+\s*\\infty/g, "\\infty");
  s = s.replace(/\\(?:leq|le)(?![a-zA-Z])/g, "\\le").replace(/\\(?:geq|ge)(?![a-zA-Z])/g, "\\ge");
  s = s.trim().replace(/\s*\.$/, "");
  // Units and other words after a number: `5.4 cents`, `15 cm^2`, `\frac{270}{7} degrees`.
  if (/[\d}]/.test(s)) {
    s = s.replace(TRAILING_RATE_UNIT, "").replace(TRAILING_LETTER_UNIT, "");
    s = s.replace(TRAILING_UNIT, "").trim();
  }
  s = removeSpaces(s);
  s = braceCommandArguments(s);
  // A lone variable given a value: `x=5`, `k=\frac{1}{2}`, `x\in[-2,7]`. Equations such as
  // `y=2x+3` stay whole so that they can be compared with rearranged forms.
  s = s.replace(/^[a-zA-Z]=(?=(?:[^a-zA-Z=\\]|\\[a-zA-Z]+)*$)/, "").replace(/^[a-zA-Z]\\in(?![a-zA-Z])/, "");
  if (GROUPED_NUMBER.test(s)) s = s.replace(/,/g, "");
  // A number written in another base, in one form: `52_8` → `52_{8}`.
  s = s.replace(/^(\d+)_\{?(\d+)\}?$/, "$1_{$2}");
  // A mixed number: `1\frac{4}{5}` is 9/5.
  const mixed = /^(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/.exec(s);
  if (mixed) {
    const [, sign, whole, numerator, denominator] = mixed as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    s = `${sign}\\frac{${Number(whole) * Number(denominator) + Number(numerator)}}{${denominator}}`;
  }
  // A multiple-choice letter: `(C)`, `C)`.
  const choice = /^\(?([A-Ea-e])\)$/.exec(s);
  if (choice) s = choice[1]!.toUpperCase();
  return canonicalNumber(s.replace(/\.$/, ""));
}
