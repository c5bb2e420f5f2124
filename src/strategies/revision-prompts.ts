/**
 * Prompts of the revision strategies (self-refine, revisions), built from the problem's own
 * prompt and earlier attempts. Chat prompts become a conversation (the attempt as the
 * assistant's turn, the request as the user's); plain-text prompts put the earlier work first
 * and the problem's prompt last, so a completion model still ends on the text it answers.
 */

import type { TokenEvent } from "../core/backend.js";
import { BackendError, BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import type { ChatMessage, Completion, Problem } from "../core/types.js";
import type { StrategyContext } from "./strategy.js";

const reviseRequest =
  "The attempts above may contain mistakes. Solve the problem again from the start, checking every step, and state the final answer in the same format.";
const critiqueRequest =
  'Review the solution above step by step. If every step is correct, reply exactly "The solution is correct." Otherwise name the first wrong step and what it should be.';
const refineRequest =
  "Using this feedback, write an improved solution from the start and state the final answer in the same format.";

/** The problem again, after earlier attempts (oldest first). */
export function revisionPrompt(problem: Problem, attempts: readonly string[]): string | ChatMessage[] {
  if (attempts.length === 0) return problem.prompt;
  if (typeof problem.prompt !== "string") {
    const turns: ChatMessage[] = [...problem.prompt];
    attempts.forEach((attempt, i) => {
      turns.push({ role: "assistant", content: attempt });
      if (i < attempts.length - 1)
        turns.push({ role: "user", content: "That attempt may contain mistakes. Try again." });
    });
    turns.push({ role: "user", content: reviseRequest });
    return turns;
  }
  const earlier = attempts.map((a, i) => `Attempt ${i + 1}:\n${a.trim()}`).join("\n\n");
  return `${earlier}\n\n${reviseRequest}\n\n${problem.prompt}`;
}

/** Asks for feedback on one attempt. */
export function critiquePrompt(problem: Problem, attempt: string): string | ChatMessage[] {
  if (typeof problem.prompt !== "string")
    return [
      ...problem.prompt,
      { role: "assistant", content: attempt },
      { role: "user", content: critiqueRequest },
    ];
  return `${problem.prompt}${attempt.trim()}\n\n${critiqueRequest}\nFeedback:`;
}

/** Asks for a better attempt given the feedback on the last one. */
export function refinePrompt(problem: Problem, attempt: string, feedback: string): string | ChatMessage[] {
  if (typeof problem.prompt !== "string")
    return [
      ...problem.prompt,
      { role: "assistant", content: attempt },
      { role: "user", content: critiqueRequest },
      { role: "assistant", content: feedback },
      { role: "user", content: refineRequest },
    ];
  return `Earlier solution:\n${attempt.trim()}\n\nFeedback: ${feedback.trim()}\n\n${refineRequest}\n\n${problem.prompt}`;
}

/** Whether an error says the prompt does not fit the model's context. */
export function promptTooLong(error: unknown): boolean {
  if (error instanceof InvalidInputError) return error.field === "prompt";
  return error instanceof BackendError && error.code === "prompt-too-long";
}

/**
 * One completion for a prompt built from the latest `history` attempts; when the prompt does
 * not fit the model's context, the oldest attempts are dropped (down to none: the plain
 * problem), so a small model degrades to plain sampling instead of failing. `onToken` gets the
 * text as it is decoded: a loop's pass that is its answer whatever it says (the final one).
 */
export async function generateWithHistory(
  ctx: StrategyContext,
  build: (kept: number) => string | ChatMessage[],
  history: number,
  call: { maxTokens?: number; onToken?: (event: TokenEvent) => void } = {},
): Promise<{ completion: Completion; kept: number }> {
  for (let kept = history; ; kept--) {
    try {
      const response = await ctx.backend.generate({
        ...ctx.sampling,
        ...(call.maxTokens !== undefined ? { maxTokens: call.maxTokens } : {}),
        prompt: build(kept),
        n: 1,
        signal: ctx.signal,
        ...(call.onToken ? { onToken: call.onToken } : {}),
      });
      const completion = response.completions[0];
      if (!completion) throw new BackendError(`backend ${ctx.backend.id} returned no completion`);
      return { completion, kept };
    } catch (error) {
      // A prompt too long fails before any text: a shorter one may still stream from the start.
      if (error instanceof BudgetExhaustedError || kept === 0 || !promptTooLong(error)) throw error;
    }
  }
}
