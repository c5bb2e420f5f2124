/**
 * LLM judge: the generator (or any backend) asked whether a solution is correct.
 *
 * With log-probabilities, the score is P(True) (Kadavath et al. 2022): the probability mass of
 * "Yes" against "No" as the first token of the verdict, read from the top alternatives. Without
 * them, the judge generates short verdicts and scores the share that say "Yes". A verdict that
 * says neither counts as 0.5: no opinion. Judge tokens are metered as verifier usage by the
 * backend the verifier context gives.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import { InvalidInputError } from "../core/errors.js";
import type { Candidate, ChatMessage, Problem, TokenLogprob } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";
import { parseVerifierOptions } from "./http.js";

export const judgeOptionsSchema = z
  .object({
    mode: z
      .enum(["auto", "logprobs", "verdict"])
      .default("auto")
      .describe("P(Yes) from logprobs, generated verdicts, or logprobs when the backend has them"),
    /** Verdicts per candidate in verdict mode (sampled at temperature 1 when more than one). */
    samples: z.number().int().min(1).max(64).default(1),
    verdictTokens: z.number().int().min(1).max(256).default(8),
    topLogprobs: z.number().int().min(2).max(20).default(10),
    question: z
      .string()
      .min(1)
      .default("Is the solution above correct? Answer Yes or No.")
      .describe("what the judge is asked after the solution"),
  })
  .strict();
export type JudgeOptions = z.input<typeof judgeOptionsSchema>;

const YES = /^\s*yes\b/i;
const NO = /^\s*no\b/i;

/** The judge's prompt: the problem, the candidate as the answer, then the question. */
export function judgePrompt(
  problem: Problem,
  candidate: Candidate,
  question: string,
): string | ChatMessage[] {
  if (typeof problem.prompt !== "string")
    return [
      ...problem.prompt,
      { role: "assistant", content: candidate.text },
      { role: "user", content: question },
    ];
  return `${problem.prompt}${candidate.text.trimEnd()}\n\n${question}\nAnswer:`;
}

/** P(Yes) / (P(Yes) + P(No)) at the first token, or undefined when neither is among the alternatives. */
export function pTrue(first: TokenLogprob | undefined): number | undefined {
  if (!first) return undefined;
  const options =
    first.top && first.top.length > 0 ? first.top : [{ token: first.token, logprob: first.logprob }];
  let yes = 0;
  let no = 0;
  for (const { token, logprob } of options) {
    // "Yes" split into pieces ("Y", "es") still starts with "y"; a lone "Y"/"N" counts too.
    if (YES.test(token) || /^\s*y$/i.test(token)) yes += Math.exp(logprob);
    else if (NO.test(token) || /^\s*n$/i.test(token)) no += Math.exp(logprob);
  }
  if (yes + no === 0) return undefined;
  return yes / (yes + no);
}

/** 1 for a verdict starting with Yes, 0 for No, undefined for anything else. */
export function verdictOf(text: string): number | undefined {
  const match = /\b(yes|no)\b/i.exec(text);
  if (!match) return undefined;
  return match[1]!.toLowerCase() === "yes" ? 1 : 0;
}

export function judgeVerifier(input: JudgeOptions = {}, judgeBackend?: Backend): Verifier {
  const options = parseVerifierOptions(judgeOptionsSchema, input, "judge");

  /** A judge backend of its own is not metered by the strategy: its usage is reported here. */
  const generate = async (
    backend: Backend,
    ctx: VerifierContext,
    request: Parameters<Backend["generate"]>[0],
  ) => {
    const response = await backend.generate(request);
    if (backend === judgeBackend) {
      const { promptTokens, completionTokens, latencyMs, estimated } = response.usage;
      ctx.recordUsage({ tokens: promptTokens + completionTokens, calls: 1, latencyMs, estimated });
    }
    return response;
  };

  async function judgeOne(problem: Problem, candidate: Candidate, backend: Backend, ctx: VerifierContext) {
    const prompt = judgePrompt(problem, candidate, options.question);
    const useLogprobs =
      options.mode === "logprobs" || (options.mode === "auto" && backend.capabilities.logprobs);
    if (useLogprobs) {
      if (!backend.capabilities.logprobs)
        throw new InvalidInputError(
          "judge.mode",
          `backend ${backend.id} gives no logprobs`,
          'use mode "verdict"',
        );
      const response = await generate(backend, ctx, {
        prompt,
        n: 1,
        temperature: 0,
        maxTokens: 1,
        logprobs: true,
        topLogprobs: options.topLogprobs,
        signal: ctx.signal,
      });
      const completion = response.completions[0];
      return pTrue(completion?.logprobs?.[0]) ?? (completion ? (verdictOf(completion.text) ?? 0.5) : 0.5);
    }
    const response = await generate(backend, ctx, {
      prompt,
      n: options.samples,
      temperature: options.samples > 1 ? 1 : 0,
      maxTokens: options.verdictTokens,
      signal: ctx.signal,
    });
    const verdicts = response.completions.map((c) => verdictOf(c.text)).filter((v) => v !== undefined);
    return verdicts.length === 0 ? 0.5 : verdicts.reduce((s, v) => s + v, 0) / verdicts.length;
  }

  return {
    name: "judge",
    async score(problem, candidates, ctx) {
      const backend = judgeBackend ?? ctx.backend;
      if (!backend)
        throw new InvalidInputError(
          "verifier",
          "the judge asks a model, and no backend was given",
          "run it inside a strategy (the generator judges) or pass a judge backend",
        );
      return Promise.all(candidates.map((candidate) => judgeOne(problem, candidate, backend, ctx)));
    },
  };
}
