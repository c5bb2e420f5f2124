/**
 * Outcome reward model over HTTP: one score per whole candidate.
 *
 * Protocols:
 * - `vllm-pooling`: vLLM serving a reward model (`vllm serve <rm> --runner pooling`), `POST
 *   {url}/pooling` with `{"model", "input": [text, ...]}` (chat prompts: `{"model", "messages"}`,
 *   one conversation per request); the answer's `data[i].data` is a score, a per-token list of
 *   scores, or per-token vectors (the last token's, last entry or `scoreIndex`, is the score).
 * - `json`: `POST {url}` with `{"input": [text, ...]}`, answered by `{"score": [number, ...]}`
 *   (one score per input, in order; a single number for a single input).
 * Verifier tokens come from the answer's `usage.prompt_tokens` when given, else are estimated.
 */
import { z } from "zod";
import { BackendError, InvalidInputError } from "../core/errors.js";
import type { Candidate, ChatMessage, Problem } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";
import { estimateTokens, httpEndpointFields, joinUrl, parseVerifierOptions, postJson } from "./http.js";

export const rewardModelOptionsSchema = z
  .object({
    ...httpEndpointFields,
    protocol: z.enum(["vllm-pooling", "json"]).default("json"),
    /** The served model name (vLLM); default: whatever the server serves. */
    model: z.string().min(1).optional(),
    batchSize: z.number().int().min(1).max(1024).default(16),
    /** With per-token vectors (e.g. class probabilities), which entry is the reward; default the last. */
    scoreIndex: z.number().int().min(0).optional(),
  })
  .strict();
export type RewardModelOptions = z.input<typeof rewardModelOptionsSchema>;

const usageSchema = z.object({ prompt_tokens: z.number().int().nonnegative() }).partial().optional();
const nested = z.union([z.number(), z.array(z.number()), z.array(z.array(z.number()))]);
const poolingAnswer = z.object({
  data: z.array(z.object({ index: z.number().int().optional(), data: nested })).min(1),
  usage: usageSchema,
});
const jsonAnswer = z.object({ score: z.union([z.number(), z.array(z.number())]), usage: usageSchema });

/** The prompt as text: plain prompts as they are, chat prompts as their turns. */
export function promptText(prompt: string | ChatMessage[]): string {
  return typeof prompt === "string" ? prompt : prompt.map((m) => `${m.role}: ${m.content}`).join("\n");
}

/** The reward in a pooling output: the last token's value (or its `index` entry). */
export function pooledScore(data: z.output<typeof nested>, index: number | undefined, where: string): number {
  const lastOf = (values: number[]): number => {
    const value = index === undefined ? values.at(-1) : values[index];
    if (value === undefined || !Number.isFinite(value))
      throw new BackendError(
        `${where}: no score at entry ${index ?? values.length - 1} of [${values.join(", ")}]`,
      );
    return value;
  };
  if (typeof data === "number") return data;
  if (data.length === 0) throw new BackendError(`${where}: empty pooling output`);
  if (typeof data[0] === "number") return lastOf(data as number[]);
  return lastOf((data as number[][]).at(-1)!);
}

export function rewardModelVerifier(input: RewardModelOptions): Verifier {
  const options = parseVerifierOptions(rewardModelOptionsSchema, input, "orm");
  const what = "reward model";

  async function scoreBatch(
    problem: Problem,
    batch: readonly Candidate[],
    ctx: VerifierContext,
  ): Promise<number[]> {
    const texts = batch.map((c) => promptText(problem.prompt) + c.text);
    if (options.protocol === "json") {
      const { data, latencyMs } = await postJson(
        options,
        options.url,
        { input: texts },
        jsonAnswer,
        what,
        ctx.signal,
      );
      const scores = typeof data.score === "number" ? [data.score] : data.score;
      if (scores.length !== batch.length)
        throw new BackendError(
          `${what} at ${options.url} answered ${scores.length} scores for ${batch.length} inputs`,
        );
      record(ctx, data.usage?.prompt_tokens, texts, latencyMs);
      return scores;
    }
    const url = joinUrl(options.url, "pooling");
    if (typeof problem.prompt !== "string") {
      // Chat prompts go as conversations, which the pooling API takes one per request.
      return Promise.all(
        batch.map(async (candidate) => {
          const messages = [
            ...(problem.prompt as ChatMessage[]),
            { role: "assistant", content: candidate.text },
          ];
          const body = { ...(options.model ? { model: options.model } : {}), messages };
          const { data, latencyMs } = await postJson(options, url, body, poolingAnswer, what, ctx.signal);
          record(ctx, data.usage?.prompt_tokens, [promptText(messages as ChatMessage[])], latencyMs);
          return pooledScore(data.data[0]!.data, options.scoreIndex, `${what} at ${url}`);
        }),
      );
    }
    const body = { ...(options.model ? { model: options.model } : {}), input: texts };
    const { data, latencyMs } = await postJson(options, url, body, poolingAnswer, what, ctx.signal);
    if (data.data.length !== batch.length)
      throw new BackendError(
        `${what} at ${url} answered ${data.data.length} outputs for ${batch.length} inputs`,
      );
    record(ctx, data.usage?.prompt_tokens, texts, latencyMs);
    const ordered = [...data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return ordered.map((item) => pooledScore(item.data, options.scoreIndex, `${what} at ${url}`));
  }

  return {
    name: `orm(${options.url})`,
    async score(problem, candidates, ctx) {
      const batches: Candidate[][] = [];
      for (let i = 0; i < candidates.length; i += options.batchSize)
        batches.push(candidates.slice(i, i + options.batchSize));
      return (await Promise.all(batches.map((batch) => scoreBatch(problem, batch, ctx)))).flat();
    },
  };
}

function record(
  ctx: VerifierContext,
  reported: number | undefined,
  texts: readonly string[],
  latencyMs: number,
): void {
  const estimated = reported === undefined;
  const tokens = reported ?? texts.reduce((sum, t) => sum + estimateTokens(t), 0);
  ctx.recordUsage({ tokens, calls: 1, latencyMs, estimated });
}

/** Options from a spec's argument, `URL`: a URL ending in `/pooling` speaks vLLM's pooling API. */
export function rewardModelSpec(argument: string | undefined): RewardModelOptions {
  if (!argument)
    throw new InvalidInputError(
      "verifier",
      "orm needs the reward model's URL",
      "e.g. orm:http://127.0.0.1:8001/pooling",
    );
  const pooling = /\/pooling\/?$/.test(argument);
  return pooling
    ? { url: argument.replace(/\/pooling\/?$/, ""), protocol: "vllm-pooling" }
    : { url: argument };
}
