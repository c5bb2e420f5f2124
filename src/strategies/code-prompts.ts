/**
 * Prompts of the code strategies and the parsing of what the model writes back (assert lines,
 * input calls). Chat prompts become a conversation; plain-text prompts put the earlier work
 * first and the problem's prompt last, as the revision strategies do, so a completion model
 * still ends on the text it answers.
 */
import type { ChatMessage, Problem } from "../core/types.js";
import type { CodeProblem } from "./code-harness.js";

export type FeedbackMode = "simple" | "unit-test" | "explanation";

const fixRequest = "Fix the code. Reply with the whole corrected function in one ```python block.";
const explainRequest =
  "Explain the code above line by line: what each line does and what it computes on the examples from the docstring.";

/** What the model is told about a failed attempt, in the paper's three formats. */
export function feedbackMessage(mode: FeedbackMode, runFeedback: string): string {
  if (mode === "simple") return "The code above is wrong.";
  return `The code above is wrong. Running it on the examples from the docstring gave:\n${runFeedback.trim()}`;
}

const systemTurns = (problem: Problem): ChatMessage[] =>
  typeof problem.prompt === "string" ? [] : problem.prompt.filter((m) => m.role === "system");

/** Asks for a line-by-line explanation of an attempt (the first half of the explanation mode). */
export function explainPrompt(problem: Problem, attempt: string): string | ChatMessage[] {
  if (typeof problem.prompt !== "string")
    return [
      ...problem.prompt,
      { role: "assistant", content: attempt },
      { role: "user", content: explainRequest },
    ];
  return `Earlier solution:\n${attempt.trim()}\n\n${explainRequest}\n\n${problem.prompt}\n\nExplanation:\n`;
}

/** Asks for a repaired attempt given the feedback (and, in the explanation mode, the explanation). */
export function repairPrompt(
  problem: Problem,
  attempt: string,
  feedback: string,
  explanation?: string,
): string | ChatMessage[] {
  if (typeof problem.prompt !== "string") {
    const turns: ChatMessage[] = [...problem.prompt, { role: "assistant", content: attempt }];
    if (explanation !== undefined)
      turns.push({ role: "user", content: explainRequest }, { role: "assistant", content: explanation });
    turns.push({ role: "user", content: `${feedback}\n\n${fixRequest}` });
    return turns;
  }
  const explained = explanation === undefined ? "" : `Explanation of it:\n${explanation.trim()}\n\n`;
  return `Earlier solution:\n${attempt.trim()}\n\n${explained}${feedback}\n\n${fixRequest}\n\n${problem.prompt}`;
}

/** The function as a stub to test: its prompt (signature and docstring) with `pass` as the body. */
const stub = (code: CodeProblem) => `${code.prompt.trimEnd()}\n    pass\n`;

/** Asks for test cases as assert lines (CodeT's prompt: the stub, then a request to check it). */
export function testWritingPrompt(
  problem: Problem,
  code: CodeProblem,
  count: number,
): string | ChatMessage[] {
  const request = `Write ${count} test cases for the function \`${code.entryPoint}\` below, as Python assert statements, one per line, each of the form \`assert ${code.entryPoint}(...) == ...\`. Reply with the asserts only, in one \`\`\`python block.`;
  const text = `${request}\n\n\`\`\`python\n${stub(code)}\`\`\``;
  if (typeof problem.prompt !== "string") return [...systemTurns(problem), { role: "user", content: text }];
  return `${text}\n\n\`\`\`python\n# check the correctness of ${code.entryPoint}\n`;
}

/** Asks for inputs to run the function on, as calls. */
export function inputWritingPrompt(
  problem: Problem,
  code: CodeProblem,
  count: number,
): string | ChatMessage[] {
  const request = `Write ${count} different calls of the function \`${code.entryPoint}\` below with typical and edge-case arguments, one per line, each of the form \`${code.entryPoint}(...)\`, without results. Reply with the calls only, in one \`\`\`python block.`;
  const text = `${request}\n\n\`\`\`python\n${stub(code)}\`\`\``;
  if (typeof problem.prompt !== "string") return [...systemTurns(problem), { role: "user", content: text }];
  return `${text}\n\n\`\`\`python\n# example calls of ${code.entryPoint}\n`;
}

const whitespace = (line: string) => line.replace(/\s+/g, " ").trim();

/**
 * The assert statements in a model's reply that call the function (`candidate(...)` is read as
 * the function, as HumanEval's own tests write it); one line each, in order.
 */
export function parseAsserts(text: string, entryPoint: string): string[] {
  const call = new RegExp(`\\b${entryPoint}\\s*\\(`);
  return text
    .split("\n")
    .map((line) => line.trim().replace(/\bcandidate\s*\(/g, `${entryPoint}(`))
    .filter((line) => /^assert\b/.test(line) && call.test(line));
}

/** The calls of the function in a model's reply (a line that is just `f(...)`, or `>>> f(...)`). */
export function parseCalls(text: string, entryPoint: string): string[] {
  return text
    .split("\n")
    .map((line) =>
      line
        .trim()
        .replace(/^>>>\s*/, "")
        .replace(/\s+#.*$/, ""),
    )
    .filter((line) => line.startsWith(`${entryPoint}(`) && line.endsWith(")"));
}

/** Keeps the first of snippets that differ only in spacing, at most `limit` of them. */
export function distinctSnippets(snippets: readonly string[], limit = Number.POSITIVE_INFINITY): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const snippet of snippets) {
    const key = whitespace(snippet);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(snippet);
    if (kept.length >= limit) break;
  }
  return kept;
}
