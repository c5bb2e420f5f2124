/**
 * Generative selection (GenSelect, as in optillm): the model reads several candidate solutions
 * side by side and names the best one. List-wise, so the scores of a set depend on the whole set:
 * a candidate's score is the share of selection votes it received. Its tokens are metered as
 * verifier usage through the backend of the verifier context, as the judge's are.
 */
import { z } from "zod";
import type { Backend, GenerateRequest } from "../core/backend.js";
import { BackendError, InvalidInputError } from "../core/errors.js";
import type { Candidate, ChatMessage, Problem } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";
import { parseVerifierOptions } from "./http.js";

export const genselectOptionsSchema = z
  .object({
    /** Selection votes; each shows the candidates in another (rotated) order, against position bias. */
    samples: z.number().int().min(1).max(64).default(1),
    selectTokens: z.number().int().min(1).max(8192).default(256),
    request: z
      .string()
      .min(1)
      .default(
        'Compare the solutions above and decide which one is correct. Explain briefly, then end with "Best: <number>".',
      )
      .describe("what the model is asked after the numbered solutions"),
  })
  .strict();
export type GenselectOptions = z.input<typeof genselectOptionsSchema>;

/** The problem's question as text: a plain prompt, or the user turns of a chat prompt. */
export function questionText(problem: Problem): string {
  if (typeof problem.prompt === "string") return problem.prompt.trim();
  return problem.prompt
    .filter((m) => m.role === "user")
    .map((m) => m.content)
    .join("\n\n")
    .trim();
}

/**
 * A prompt that shows the problem and numbered solutions (1-based) and ends with `request`.
 * Chat problems keep their system turns and get one user turn; plain prompts stay plain text.
 */
export function comparisonPrompt(
  problem: Problem,
  solutions: readonly string[],
  request: string,
): string | ChatMessage[] {
  const listing = solutions.map((text, i) => `Solution ${i + 1}:\n${text.trim()}`).join("\n\n");
  const body = `Problem:\n${questionText(problem)}\n\n${listing}\n\n${request}`;
  if (typeof problem.prompt === "string") return `${body}\n`;
  return [...problem.prompt.filter((m) => m.role === "system"), { role: "user", content: body }];
}

/**
 * The 0-based solution a reply names, or undefined when it names none of 1..count: the last
 * "Best: N" (or "best solution is N", "answer: N"), else the last "Solution N", else a reply
 * that starts with the number.
 */
export function parseChoice(text: string, count: number): number | undefined {
  const inRange = (digits: string | undefined) => {
    const k = Number(digits);
    return Number.isInteger(k) && k >= 1 && k <= count ? k - 1 : undefined;
  };
  const lastInRange = (pattern: RegExp) => {
    const found = [...text.matchAll(pattern)].map((m) => inRange(m[1])).filter((k) => k !== undefined);
    return found.at(-1);
  };
  return (
    lastInRange(/\b(?:best|choice|answer)\b[^\d\n]{0,24}?(\d+)/gi) ??
    lastInRange(/\bsolution\s*#?\s*(\d+)/gi) ??
    inRange(/^\s*#?(\d+)\b/.exec(text)?.[1])
  );
}

/**
 * Generates with the backend of the verifier context (metered there as verifier usage), or
 * with a backend of the verifier's own, whose usage is reported to the context.
 */
export async function verifierGenerate(
  own: Backend | undefined,
  ctx: VerifierContext,
  request: GenerateRequest,
  name: string,
): Promise<string[]> {
  const backend = own ?? ctx.backend;
  if (!backend)
    throw new InvalidInputError(
      "verifier",
      `${name} asks a model, and no backend was given`,
      "run it inside a strategy (the generator selects) or pass a backend of its own",
    );
  const response = await backend.generate(request);
  if (own) {
    const { promptTokens, completionTokens, latencyMs, estimated } = response.usage;
    ctx.recordUsage({ tokens: promptTokens + completionTokens, calls: 1, latencyMs, estimated });
  }
  if (response.completions.length === 0)
    throw new BackendError(`backend ${backend.id} returned no completion`);
  return response.completions.map((c) => c.text);
}

/** `samples` orders of n candidates, each the previous rotated by about n/samples places. */
function rotations(n: number, samples: number): number[][] {
  return Array.from({ length: samples }, (_, v) => {
    const shift = Math.floor((v * n) / samples) % n;
    return Array.from({ length: n }, (_, i) => (i + shift) % n);
  });
}

export function genselectVerifier(input: GenselectOptions = {}, ownBackend?: Backend): Verifier {
  const options = parseVerifierOptions(genselectOptionsSchema, input, "genselect");
  return {
    name: "genselect",
    async score(problem: Problem, candidates: readonly Candidate[], ctx: VerifierContext) {
      const votes = candidates.map(() => 0);
      if (candidates.length <= 1) return candidates.map(() => 1);
      const orders = rotations(candidates.length, options.samples);
      const replies = await Promise.all(
        orders.map((order) =>
          verifierGenerate(
            ownBackend,
            ctx,
            {
              prompt: comparisonPrompt(
                problem,
                order.map((i) => candidates[i]!.text),
                options.request,
              ),
              n: 1,
              temperature: options.samples > 1 ? 1 : 0,
              maxTokens: options.selectTokens,
              signal: ctx.signal,
            },
            "genselect",
          ),
        ),
      );
      replies.forEach(([reply], v) => {
        const shown = parseChoice(reply ?? "", candidates.length);
        if (shown !== undefined) votes[orders[v]![shown]!]! += 1;
      });
      return votes.map((count) => count / options.samples);
    },
  };
}
