/** Finding the final answer in a model's worked solution. */
import { matchBraces } from "./latex-normalize.js";

/**
 * What may stand between boxes that together give one answer: `\boxed{2}, \boxed{3}`,
 * `$\boxed{2}$ and $\boxed{3}$`. Not "or": `\boxed{15\frac{39}{40}}, or \boxed{\frac{639}{40}}`
 * offers one answer in two forms.
 */
const BOX_JOINER = /^(?:[\s$,;]|\\[,;! ]|\\q?quad|\\text\{\s*and\s*\}|\band\b)*$/;

/**
 * The content of the last complete `\boxed{...}` (or `\fbox{...}`, or `\boxed 5`) in the text;
 * boxes separated only by commas or "and" are one answer, joined by commas.
 */
export function extractBoxedAnswer(text: string): string | undefined {
  const pattern = /\\(?:boxed|fbox)(?![a-zA-Z])/g;
  let found: string[] = [];
  let previousEnd = -1;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    // A box inside the box just read (`\boxed{\boxed{5}}`) is part of it.
    if (match.index < previousEnd) continue;
    let i = match.index + match[0].length;
    while (text[i] === " ") i++;
    let content: string | undefined;
    let end = i;
    if (text[i] === "{") {
      const group = matchBraces(text, i);
      content = group?.content;
      end = group?.end ?? i;
    } else if (match[0] === "\\boxed" && i > match.index + match[0].length) {
      // `\boxed 5`: the argument runs to the next space or math delimiter.
      content = /^[^\s$]+/.exec(text.slice(i))?.[0];
      end = i + (content?.length ?? 0);
    }
    content = unwrapBoxes(content);
    if (content === undefined || content.trim() === "") continue;
    const joined = previousEnd >= 0 && BOX_JOINER.test(text.slice(previousEnd, match.index));
    found = joined ? [...found, content.trim()] : [content.trim()];
    previousEnd = end;
  }
  return found.length > 0 ? found.join(", ") : undefined;
}

/** `\boxed{5}` inside a box is `5`. */
function unwrapBoxes(content: string | undefined): string | undefined {
  let s = content?.trim();
  for (;;) {
    const inner = s && /^\\(?:boxed|fbox)\s*\{/.exec(s);
    if (!s || !inner) return s;
    const group = matchBraces(s, inner[0].length - 1);
    if (!group || group.end !== s.length) return s;
    s = group.content.trim();
  }
}

/**
 * The last match of a global `pattern` in `text`. The patterns are built once (every sample's
 * answer is read with them) and read from the start each time.
 */
function lastMatch(pattern: RegExp, text: string): RegExpExecArray | undefined {
  let last: RegExpExecArray | undefined;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    last = match;
    if (match[0] === "") pattern.lastIndex += 1;
  }
  return last;
}

const HASH_ANSWER = /####\s*([^\n]*)/g;

/** The text after `#### ` on its line (GSM8K's reference format). */
export function extractHashAnswer(text: string): string | undefined {
  const last = lastMatch(HASH_ANSWER, text)?.[1]?.trim();
  return last ? last : undefined;
}

/** Cues after which an answer is stated, the stronger first. */
const ANSWER_CUES = [
  /\b(?:final\s+answer|answer)\s*(?:is\b|:|=)(?:\s*\*\*)?\s*:?/gi,
  /(?:^|\n)[ \t]*\**A\**\s*:\**/g,
];

/**
 * The answer stated after a cue such as "The answer is", "Final answer:", "Answer:" or a line
 * starting with "A:". The last cue wins.
 */
export function extractStatedAnswer(text: string): string | undefined {
  for (const cue of ANSWER_CUES) {
    const last = lastMatch(cue, text);
    if (!last) continue;
    const span = answerSpan(text.slice(last.index + last[0].length));
    if (span) return span;
  }
  return undefined;
}

/** Delimiters of a math span, the longer before the shorter. */
const MATH_SPANS = [
  ["$$", "$$"],
  ["\\[", "\\]"],
  ["\\(", "\\)"],
  ["$", "$"],
] as const;

/** The answer at the start of `rest`: one math span, or the text up to the end of the sentence. */
function answerSpan(rest: string): string | undefined {
  const s = rest.replace(/^[\s*]+/, "");
  for (const [open, close] of MATH_SPANS) {
    if (!s.startsWith(open)) continue;
    const end = s.indexOf(close, open.length);
    // `$5 + $7 = $12` is currency, not a math span.
    const currency = open === "$" && /\d/.test(s[end + 1] ?? "");
    if (end > open.length && !currency) return s.slice(open.length, end).trim();
  }
  const line = s.split("\n")[0] ?? "";
  // A period ends the sentence unless it is a decimal point (`3.5`); so does an exclamation
  // mark, unless it is a factorial in a formula (`5! = 120`).
  const sentence = line.split(/\.(?=\s|$)|!(?=\s*$|\s+[A-Z])/)[0] ?? "";
  const cleaned = sentence.replace(/[*\s]+$/, "").trim();
  return cleaned === "" ? undefined : cleaned;
}

const NUMBER = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

/** The last number in the text, ignoring GSM8K calculator annotations `<<48/2=24>>`. */
export function extractLastNumber(text: string): string | undefined {
  const matches = text.replace(/<<[^>]*>>/g, " ").match(NUMBER);
  return matches?.at(-1);
}

/**
 * A few-shot prompted model often goes on to write the next exemplar's question after its
 * answer (`\nQ: …`, `\nQuestion: …`, `\n\nProblem: …`): the text up to there is its answer.
 */
export function truncateAtNextQuestion(text: string): string {
  const next = /\n[ \t]*(?:Q|Question)[ \t]*:|\n[ \t]*\n[ \t]*Problem[ \t]*:/.exec(text);
  return next && next.index > 0 ? text.slice(0, next.index) : text;
}

/**
 * The final answer of a worked solution: boxed, `####`, a stated answer, or the last number,
 * read before any next question the model went on to write.
 */
export function extractMathAnswer(response: string): string | undefined {
  const text = truncateAtNextQuestion(response);
  return (
    extractBoxedAnswer(text) ??
    extractHashAnswer(text) ??
    extractStatedAnswer(text) ??
    extractLastNumber(text)
  );
}
