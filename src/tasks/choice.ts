/**
 * Multiple-choice answers (AQuA, MMLU-style): the answer is an option letter, written `(b)`,
 * `B`, `B)`, "The answer is (c)" or "answer: C", or the text of an option. The options are
 * read from `problem.meta.options` (`["A)21", "B)21.5", …]` as AQuA rows give them, or
 * `{ "A": "21", … }`), or else from the prompt (`(a) 21 (b) 21.5 …`, `A) 21`, `A. 21`), so
 * that an answer given as an option's text grades as that option's letter.
 */
import type { ChatMessage, Problem, Task } from "../core/types.js";
import { normalizeMathAnswer } from "./latex-normalize.js";
import { mathAnswersEquivalent } from "./math-equivalence.js";
import { extractBoxedAnswer, truncateAtNextQuestion } from "./math-extraction.js";

const LETTERS = "ABCDEFGHIJ";

/** A letter alone, as an answer: `B`, `(b)`, `B)`, `b.`, `\text{(B)}`, `Option B`. */
export function choiceLetter(text: string): string | undefined {
  const s = text
    .trim()
    .replace(/^\$+|\$+$/g, "")
    .replace(/\\text(?:bf|rm)?\s*\{([^{}]*)\}/g, "$1")
    .replace(/^(?:option|choice)\s+/i, "")
    .replace(/[.*\s]+$/, "")
    .trim();
  // The whole text is the letter, so a lower-case one is no article: `b.` and `a` are options.
  const match = /^\(([A-Ja-j])\)$|^([A-Ja-j])[):]?$/.exec(s);
  const letter = match?.slice(1).find((group) => group !== undefined);
  return letter?.toUpperCase();
}

/**
 * The option letter at the start of a stated answer: `(c)`, `C)`, `C.`, `C`, `option C`,
 * `(b) 81`, `C: 21.5`; undefined when the answer starts otherwise (`a number`, `81`).
 */
function leadingLetter(span: string): string | undefined {
  const s = span
    .replace(/^[\s*$:]+/, "")
    .replace(/^\\(?:text(?:bf|rm)?|mathrm|mathbf)\s*\{/, "")
    .replace(/^(?:option|choice)\s+/i, "");
  const match =
    /^\(([A-Ja-j])\)/.exec(s) ??
    /^([A-Ja-j])\)/.exec(s) ??
    // An uppercase letter on its own; `A` before a lowercase word is the article ("A total of 5").
    /^([B-J])(?![A-Za-z0-9])/.exec(s) ??
    /^(A)(?![A-Za-z0-9])(?!\s+(?!(?:because|since|as|which|with)\b)[a-z])/.exec(s) ??
    // A lowercase letter only when punctuation or the end follows: "the answer is c."
    /^([a-j])(?=\s*[.,;:!]?\s*$|\s*[.,;:]\s)/.exec(s);
  return match?.[1]?.toUpperCase();
}

const CUE =
  /\b(?:answer|option|choice)(?!\s+choices)\s*(?:(?:would|will|must|should)\s+be|is|:|=|-)\s*(?:option|choice)?\s*:?/gi;

/** The text of a stated answer up to the end of its sentence. */
function sentenceAfter(rest: string): string | undefined {
  const line = (rest.replace(/^[\s*:]+/, "").split("\n")[0] ?? "").trim();
  const sentence = (line.split(/\.(?=\s|$)|!(?=\s|$)/)[0] ?? "").replace(/[*\s]+$/, "").trim();
  return sentence === "" ? undefined : sentence;
}

/**
 * The answer of a multiple-choice response: an upper-case option letter (`"C"`), or, when the
 * response states an answer without a letter, that answer's text (matched against the options
 * when grading). Undefined when no answer is stated.
 */
export function extractChoiceAnswer(response: string): string | undefined {
  const text = truncateAtNextQuestion(response);
  const boxed = extractBoxedAnswer(text);
  if (boxed !== undefined) return choiceLetter(boxed) ?? leadingLetter(boxed) ?? boxed.trim();
  const alone = choiceLetter(text);
  if (alone !== undefined) return alone;
  const cues = [...text.matchAll(CUE)];
  for (const cue of cues.reverse()) {
    const rest = text.slice(cue.index + cue[0].length);
    const letter = leadingLetter(rest);
    if (letter !== undefined) return letter;
    const stated = sentenceAfter(rest);
    if (stated !== undefined) return stated;
  }
  // "…, which is (d)." or "So the distance is (a) 3 km.": one letter in parentheses in the last
  // sentence; "(a), (b) and (c)" or "(b) - (a)" name no single answer.
  const sentences = text.trim().split(/(?<=[.!?])\s+(?=[A-Z])|\n/);
  const last = sentences.at(-1) ?? "";
  const letters = new Set(
    [...last.matchAll(/(?<![A-Za-z0-9])\(([A-Ja-j])\)/g)].map((m) => m[1]!.toUpperCase()),
  );
  return letters.size === 1 && /\([A-Ja-j]\)[^()]{0,30}$/.test(last) ? [...letters][0] : undefined;
}

/** Option texts by upper-case letter. */
export type ChoiceOptions = Map<string, string>;

const MARKER = /(?<![A-Za-z0-9])\(([A-Ja-j])\)|(?<![A-Za-z0-9(])([A-Ja-j])[).](?=\s*\S)/g;

/**
 * The options listed in a text: the last run of markers `A, B, C…` in order (`(a) 5 (b) 6`,
 * `A)21\nB)21.5`, `A. red\nB. blue`), each option's text running to the next marker.
 */
export function parseChoiceOptions(text: string): ChoiceOptions {
  const markers = [...text.matchAll(MARKER)].map((match) => ({
    letter: (match[1] ?? match[2]!).toUpperCase(),
    start: match.index,
    end: match.index + match[0].length,
  }));
  let best: typeof markers = [];
  markers.forEach((marker, i) => {
    if (marker.letter !== "A") return;
    const run = [marker];
    for (const next of markers.slice(i + 1)) {
      if (next.letter === LETTERS[run.length]) run.push(next);
    }
    if (run.length >= 2 && run.length >= best.length) best = run;
  });
  const options: ChoiceOptions = new Map();
  best.forEach((marker, i) => {
    const end = best[i + 1]?.start ?? text.length;
    const body = text.slice(marker.end, end);
    // The last option runs to the end of its line.
    const content = i === best.length - 1 ? (body.split("\n")[0] ?? "") : body;
    options.set(marker.letter, content.trim().replace(/[,;]$/, "").trim());
  });
  return options;
}

const promptText = (prompt: string | ChatMessage[]): string =>
  typeof prompt === "string"
    ? prompt
    : (prompt.findLast((message) => message.role === "user")?.content ?? "");

/** A problem's options: from `meta.options` when given, else from its prompt. */
export function choiceOptionsOf(problem: Pick<Problem, "prompt" | "meta">): ChoiceOptions {
  const given = problem.meta?.options;
  if (Array.isArray(given)) {
    const options = parseChoiceOptions(given.map(String).join("\n"));
    if (options.size > 0) return options;
    return new Map(given.map((text, i) => [LETTERS[i]!, String(text)]));
  }
  if (given && typeof given === "object") {
    return new Map(Object.entries(given).map(([letter, text]) => [letter.toUpperCase(), String(text)]));
  }
  return parseChoiceOptions(promptText(problem.prompt));
}

const plainText = (text: string) =>
  text
    .toLowerCase()
    .replace(/[\s$.]+/g, " ")
    .trim();

function sameOptionText(answer: string, option: string): boolean {
  if (plainText(answer) === plainText(option)) return true;
  try {
    return /\d/.test(option) && mathAnswersEquivalent(answer, option, { strict: true });
  } catch {
    return false;
  }
}

/**
 * The letter an answer stands for: its own letter, or the one option whose text it equals
 * (undefined when none or several do).
 */
export function choiceOf(answer: string, options: ChoiceOptions): string | undefined {
  const letter = choiceLetter(answer) ?? leadingLetter(answer);
  if (letter !== undefined && (options.size === 0 || options.has(letter))) return letter;
  const matches = [...options].filter(([, text]) => sameOptionText(answer, text));
  return matches.length === 1 ? matches[0]![0] : undefined;
}

/**
 * The canonical form votes are grouped by: the option letter, or for an answer stated without
 * one its normalized text (`21.50` and `21.5` group; `1/2` and `0.5` do not, as they may be
 * different options' texts only the problem can tell apart).
 */
function choiceKey(answer: string): string {
  const letter = choiceLetter(answer);
  return letter ?? `text:${normalizeMathAnswer(answer).toLowerCase()}`;
}

const choicesEquivalent = (a: string, b: string) => choiceKey(a) === choiceKey(b);

export const choiceTask: Task = {
  name: "choice",
  prompt: (question) =>
    `${question.trim()}\n\nReason step by step, then end with "The answer is (X)", where X is the letter of the correct option.`,
  extractAnswer: extractChoiceAnswer,
  equivalent: choicesEquivalent,
  answerKey: choiceKey,
  async grade(answer, problem) {
    if (answer === undefined || problem.reference === undefined) return { correct: false };
    const options = choiceOptionsOf(problem);
    const reference = choiceOf(problem.reference, options);
    const chosen = choiceOf(answer, options);
    if (reference !== undefined) return { correct: chosen === reference };
    // A reference that names no option is compared as text.
    return { correct: choicesEquivalent(answer, problem.reference) };
  },
};
