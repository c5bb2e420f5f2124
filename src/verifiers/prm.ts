/**
 * Process reward model over HTTP: one score per step of a solution.
 *
 * Conventions (`style`):
 * - `math-shepherd` (Wang et al. 2024): the question, then the steps, each followed by the
 *   step tag ` ки`; the score of a step is P("+") at its tag. Served by vLLM with the STEP
 *   pooler (`--override-pooler-config '{"pooling_type": "STEP", "step_tag_id": 12902,
 *   "returned_token_ids": [648, 387]}'`), which answers one `[P(+), P(-)]` row per tag, so
 *   the positive entry is 0.
 * - `qwen` (Qwen2.5-Math-PRM): a chat with the question as the user's turn and the steps as
 *   the assistant's, each step followed by `<extra_0>`; vLLM answers one `[P(bad), P(good)]`
 *   row per separator, so the positive entry is 1.
 * Protocols: `vllm-pooling` (`POST {url}/pooling`) or `json` (`POST {url}` with
 * `{"input": [text, ...], "step_tag": tag}`, answered by `{"scores": [[P(step good), ...], ...]}`).
 */
import { z } from "zod";
import { BackendError, InvalidInputError } from "../core/errors.js";
import { type ChatMessage, type Problem, taskStepDelimiter } from "../core/types.js";
import {
  aggregateStepScores,
  stepAggregationSchema,
  type Verifier,
  type VerifierContext,
} from "../core/verifier.js";
import { estimateTokens, httpEndpointFields, joinUrl, parseVerifierOptions, postJson } from "./http.js";

const styles = {
  "math-shepherd": { tag: " ки", positive: 0 },
  qwen: { tag: "<extra_0>", positive: 1 },
} as const;

export const prmOptionsSchema = z
  .object({
    ...httpEndpointFields,
    protocol: z.enum(["vllm-pooling", "json"]).default("json"),
    style: z.enum(["math-shepherd", "qwen"]).default("math-shepherd"),
    model: z.string().min(1).optional(),
    /** Overrides the style's step tag. */
    stepTag: z.string().min(1).optional(),
    /** Which entry of a per-step row is P(good step); default from the style. */
    positiveIndex: z.number().int().min(0).optional(),
    /** How a whole candidate's step scores make its score. */
    aggregation: stepAggregationSchema.default("min"),
    /** Where a solution splits into steps: "\n" for the arithmetic task, else a blank line. */
    delimiter: z.string().min(1).optional(),
    batchSize: z.number().int().min(1).max(1024).default(16),
    system: z
      .string()
      .default("Please reason step by step, and put your final answer within \\boxed{}.")
      .describe("system turn of the qwen style"),
  })
  .strict();
export type PrmOptions = z.input<typeof prmOptionsSchema>;

const row = z.union([z.number(), z.array(z.number())]);
const poolingAnswer = z.object({
  data: z.array(z.object({ index: z.number().int().optional(), data: z.array(row) })).min(1),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative() }).partial().optional(),
});
const jsonAnswer = z.object({
  scores: z.array(z.array(z.number())),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative() }).partial().optional(),
});

/** The question a PRM sees: a plain prompt, or the last user turn of a chat. */
function questionOf(prompt: string | ChatMessage[]): string {
  if (typeof prompt === "string") return prompt;
  return [...prompt].reverse().find((m) => m.role === "user")?.content ?? "";
}

export function splitSteps(text: string, delimiter: string): string[] {
  return text
    .split(delimiter)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export function processRewardModelVerifier(input: PrmOptions): Verifier {
  const options = parseVerifierOptions(prmOptionsSchema, input, "prm");
  const tag = options.stepTag ?? styles[options.style].tag;
  const positive = options.positiveIndex ?? styles[options.style].positive;
  const what = "process reward model";
  const delimiterFor = (problem: Problem) => options.delimiter ?? taskStepDelimiter(problem.task);

  /** The text (or chat) that puts a tag after every step. */
  function tagged(problem: Problem, steps: readonly string[]): string | ChatMessage[] {
    const question = questionOf(problem.prompt);
    if (options.style === "qwen")
      return [
        { role: "system", content: options.system },
        { role: "user", content: question },
        { role: "assistant", content: steps.map((s) => `${s}${tag}`).join("") },
      ];
    return `${question.trimEnd()}\n${steps.map((s) => `${s}${tag}`).join("\n")}`;
  }

  const positiveOf = (value: z.output<typeof row>, where: string): number => {
    const p = typeof value === "number" ? value : value[positive];
    if (p === undefined || !Number.isFinite(p))
      throw new BackendError(
        `${where}: no probability at entry ${positive} of a step's output ${JSON.stringify(value)}`,
      );
    return p;
  };

  /** Per-step scores of each path (all steps, in order). */
  async function scorePaths(
    problem: Problem,
    paths: readonly string[][],
    ctx: VerifierContext,
  ): Promise<number[][]> {
    const inputs = paths.map((steps) => tagged(problem, steps));
    const results: number[][] = new Array(paths.length);
    const check = (got: number[], i: number, where: string) => {
      if (got.length !== paths[i]!.length)
        throw new BackendError(
          `${where} answered ${got.length} step scores for ${paths[i]!.length} steps`,
          undefined,
          `check the step tag ("${tag}") and the server's step pooling`,
        );
      results[i] = got;
    };
    const chunks: number[][] = [];
    for (let i = 0; i < inputs.length; i += options.batchSize)
      chunks.push(Array.from({ length: Math.min(options.batchSize, inputs.length - i) }, (_, k) => i + k));
    await Promise.all(
      chunks.map(async (indices) => {
        const texts = indices.map((i) => inputs[i]!);
        if (options.protocol === "json") {
          const body = {
            input: texts.map((t) => (typeof t === "string" ? t : JSON.stringify(t))),
            step_tag: tag,
          };
          const { data, latencyMs } = await postJson(
            options,
            options.url,
            body,
            jsonAnswer,
            what,
            ctx.signal,
          );
          if (data.scores.length !== indices.length)
            throw new BackendError(
              `${what} at ${options.url} answered ${data.scores.length} score lists for ${indices.length} inputs`,
            );
          record(ctx, data.usage?.prompt_tokens, texts, latencyMs);
          indices.forEach((path, k) => {
            check(data.scores[k]!, path, `${what} at ${options.url}`);
          });
          return;
        }
        const url = joinUrl(options.url, "pooling");
        const model = options.model ? { model: options.model } : {};
        if (options.style === "qwen") {
          // Conversations go one per request.
          await Promise.all(
            indices.map(async (path) => {
              const body = { ...model, messages: inputs[path] };
              const { data, latencyMs } = await postJson(options, url, body, poolingAnswer, what, ctx.signal);
              record(ctx, data.usage?.prompt_tokens, [inputs[path]!], latencyMs);
              check(
                data.data[0]!.data.map((r) => positiveOf(r, `${what} at ${url}`)),
                path,
                `${what} at ${url}`,
              );
            }),
          );
          return;
        }
        const { data, latencyMs } = await postJson(
          options,
          url,
          { ...model, input: texts },
          poolingAnswer,
          what,
          ctx.signal,
        );
        if (data.data.length !== indices.length)
          throw new BackendError(
            `${what} at ${url} answered ${data.data.length} outputs for ${indices.length} inputs`,
          );
        record(ctx, data.usage?.prompt_tokens, texts, latencyMs);
        const ordered = [...data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
        indices.forEach((path, k) => {
          check(
            ordered[k]!.data.map((r) => positiveOf(r, `${what} at ${url}`)),
            path,
            `${what} at ${url}`,
          );
        });
      }),
    );
    return results;
  }

  return {
    name: `prm(${options.url})`,
    async score(problem, candidates, ctx) {
      const delimiter = delimiterFor(problem);
      const paths = candidates.map((c) => splitSteps(c.text, delimiter));
      const nonEmpty = paths.map((p, i) => ({ p, i })).filter(({ p }) => p.length > 0);
      const scored = await scorePaths(
        problem,
        nonEmpty.map(({ p }) => p),
        ctx,
      );
      const scores = new Array<number>(candidates.length).fill(0);
      nonEmpty.forEach(({ i }, k) => {
        scores[i] = aggregateStepScores(scored[k]!, options.aggregation);
      });
      return scores;
    },
    async scoreSteps(problem, prefix, steps, ctx) {
      const delimiter = delimiterFor(problem);
      const earlier = splitSteps(prefix, delimiter);
      // A new step may hold several delimited pieces (or none): it scores as its worst piece.
      const pieces = steps.map((s) => splitSteps(s, delimiter));
      const all = [...earlier, ...pieces.flat()];
      if (all.length === earlier.length) return steps.map(() => 0);
      const [scores] = await scorePaths(problem, [all], ctx);
      let at = earlier.length;
      return pieces.map((own) => {
        const mine = scores!.slice(at, at + own.length);
        at += own.length;
        return mine.length === 0 ? 0 : Math.min(...mine);
      });
    },
  };
}

function record(
  ctx: VerifierContext,
  reported: number | undefined,
  inputs: readonly (string | ChatMessage[])[],
  latencyMs: number,
): void {
  const tokens =
    reported ??
    inputs.reduce(
      (sum, t) => sum + estimateTokens(typeof t === "string" ? t : t.map((m) => m.content).join("\n")),
      0,
    );
  ctx.recordUsage({ tokens, calls: 1, latencyMs, estimated: reported === undefined });
}

/**
 * Options from a spec's argument, `URL[:aggregation]`: a URL ending in `/pooling` speaks vLLM's
 * pooling API (Math-Shepherd style), any other the JSON protocol.
 */
export function prmSpec(argument: string | undefined): PrmOptions {
  if (!argument)
    throw new InvalidInputError(
      "verifier",
      "prm needs the process reward model's URL",
      "e.g. prm:http://127.0.0.1:8002/pooling:min",
    );
  const match = /^(.*):(last|min|product|mean)$/.exec(argument);
  const url = match ? match[1]! : argument;
  const aggregation = match ? (match[2] as PrmOptions["aggregation"]) : undefined;
  const pooling = /\/pooling\/?$/.test(url);
  return {
    url: pooling ? url.replace(/\/pooling\/?$/, "") : url,
    ...(pooling ? { protocol: "vllm-pooling" as const } : {}),
    ...(aggregation ? { aggregation } : {}),
  };
}
