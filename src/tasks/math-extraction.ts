/** Finding the final answer in a model's worked solution. */
import { matchBraces } from "./latex-normalize.js";

/** The content of the last complete `\boxed{...}` (or `\fbox{...}`, or `\boxed 5`) in the text. */
export function extractBoxedAnswer(text: string): string | undefined {
  const pattern = /\\(?:boxed|fbox)(?![a-zA-Z])/g;
  let found: string | undefined;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    let i = match.index + match[0].length;
    while (text[i] === " ") i++;
    let content: string | undefined;
    if (text[i] === "{") content = matchBraces(text, i)?.content;
    else if (match[0] === "\\boxed" && i > match.index + match[0].length) {
      // `\boxed 5`: the argument runs to the next space or math delimiter.
      content = /^[^\s$]+/.exec(text.slice(i))?.[0];
    }
    if (content !== undefined && content.trim() !== "") found = content.trim();
  }
  return found;
}

/** The text after `#### ` on its line (GSM8K's reference format). */
export function extractHashAnswer(text: string): string | undefined {
  const matches = [...text.matchAll(/####\s*([^\n]*)/g)];
  const last = matches.at(-1)?.[1]?.trim();
  return last ? last : undefined;
}

/**
 * The answer stated after a cue such as "The answer is", "Final answer:", "Answer:" or a line
 * starting with "A:". The last cue wins.
 */
export function extractStatedAnswer(text: string): string | undefined {
  const cues = [
    /\b(?:final\s+answer|answer)\s*(?:is\b|:|=)(?:\s*\*\*)?\s*:?/gi,
    /(?:^|\n)[ \t]*\**A\**\s*:\**/g,
  ];
  for (const cue of cues) {
    const last = [...text.matchAll(cue)].at(-1);
    if (!last) continue;
    const span = answerSpan(text.slice(last.index + last[0].length));
    if (span) return span;
  }
  return undefined;
}

/** The answer at the start of `rest`: one math span, or the text up to the end of the sentence. */
function answerSpan(rest: string): string | undefined {
  const s = rest.replace(/^[\s*]+/, "");
  for (const [open, close] of [
    ["$$", "$$"],
    ["\\[", "\\]"],
    ["\\(", "\\)"],
    ["$", "$"],
  ] as const) {
    if (!s.startsWith(open)) continue;
    const end = s.indexOf(close, open.length);
    // `$5 + $7 = $12` is currency, not a math span.
    const currency = open === "$" && /\d/.test(s[end + 1] ?? "");
    if (end > open.length && !currency) return s.slice(open.length, end).trim();
  }
  const line = s.split("\n")[0] ?? "";
  // A period ends the sentence unless it is a decimal point (`3.5`).
  const sentence = line.split(/\.(?=\s|$)/)[0] ?? "";
  const cleaned = sentence.replace(/[*\s]+$/, "").trim();
  return cleaned === "" ? undefined : cleaned;
}

const NUMBER = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

/** The last number in the text, ignoring GSM8K calculator annotations `<<48/2=24>>`. */
export function extractLastNumber(text: string): string | undefined {
  const matches = text.replace(/<<[^>]*>>/g, " ").match(NUMBER);
  return matches?.at(-1);
}

/** The final answer of a worked solution: boxed, `####`, a stated answer, or the last number. */
export function extractMathAnswer(text: string): string | undefined {
  return (
    extractBoxedAnswer(text) ??
    extractHashAnswer(text) ??
    extractStatedAnswer(text) ??
    extractLastNumber(text)
  );
}
