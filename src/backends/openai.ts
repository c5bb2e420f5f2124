import { setMaxListeners } from "node:events";
import { z } from "zod";
import { BackendError, InvalidInputError, throwIfAborted } from "../core/errors.js";
import type { Completion, Usage } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import type { Backend, BackendCapabilities, GenerateRequest, GenerateResponse } from "./backend.js";
import { type OpenAIHttpClient, postJson, type RetryEvent } from "./openai-http.js";
import {
  chatRequestBody,
  completionRequestBody,
  type ParsedChoice,
  type ParsedResponse,
  parseChatResponse,
  parseCompletionResponse,
} from "./openai-wire.js";
import { Semaphore } from "./semaphore.js";

export const openAIBackendOptionsSchema = z
  .object({
    /** The API root, e.g. `http://127.0.0.1:8000/v1`. */
    baseURL: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
    model: z.string().min(1),
    /** Sent as a Bearer token; defaults to the OPENAI_API_KEY environment variable. */
    apiKey: z.string().min(1).optional(),
    /** `chat` uses /chat/completions, `completion` the raw-text /completions endpoint. */
    mode: z.enum(["chat", "completion"]).default("chat"),
    /**
     * How a partial answer is continued in chat mode: a trailing assistant message (llama.cpp
     * server, Ollama), the same plus vLLM's `continue_final_message`, or not at all (hosted
     * APIs that start a fresh message instead).
     */
    chatPrefill: z.enum(["assistant-message", "vllm", "unsupported"]).default("assistant-message"),
    /**
     * `auto` sends `n` and, when fewer choices come back (or the server rejects `n`), asks for
     * the rest as parallel single requests and keeps doing so; `ignored` goes straight to them.
     */
    nParameter: z.enum(["auto", "ignored"]).default("auto"),
    /** Whether the server returns log-probabilities (declared as a capability). */
    logprobs: z.boolean().default(true),
    /** Requests in flight at once, shared by every call on this backend. */
    concurrency: z.number().int().positive().default(4),
    /** Per attempt; local CPU servers can take minutes for long answers. */
    timeoutMs: z.number().positive().default(300_000),
    maxRetries: z.number().int().nonnegative().default(4),
    retryBaseDelayMs: z.number().nonnegative().default(500),
    retryMaxDelayMs: z.number().nonnegative().default(30_000),
    headers: z.record(z.string(), z.string()).default({}),
    parameterCount: z.number().positive().optional(),
    onRetry: z.custom<(event: RetryEvent) => void>((value) => typeof value === "function").optional(),
  })
  .strict();

export type OpenAIBackendOptions = z.input<typeof openAIBackendOptionsSchema>;

const generateRequestSchema = z.object({
  n: z.number().int().positive(),
  seed: z.number().int().nonnegative().optional(),
  topLogprobs: z.number().int().nonnegative().optional(),
});

/**
 * A backend for any OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp server, Ollama,
 * hosted APIs). `env` is read only here, for the API key default.
 */
export function createOpenAIBackend(
  options: OpenAIBackendOptions,
  env: Record<string, string | undefined> = process.env,
): Backend {
  const config = parseOrThrow(openAIBackendOptionsSchema, options, "openai backend options");
  const http: OpenAIHttpClient = {
    baseURL: config.baseURL,
    model: config.model,
    apiKey: config.apiKey ?? (env.OPENAI_API_KEY || undefined),
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    retry: {
      maxRetries: config.maxRetries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    },
    semaphore: new Semaphore(config.concurrency),
    onRetry: config.onRetry,
  };
  const chat = config.mode === "chat";
  const capabilities: BackendCapabilities = {
    multipleSamples: true,
    logprobs: config.logprobs,
    prefixContinuation: !chat || config.chatPrefill !== "unsupported",
    chat,
  };
  // Learned from the first n>1 call: whether the server honours `n`.
  let honoursN: boolean | undefined = config.nParameter === "ignored" ? false : undefined;
  const closing = new AbortController();
  // Every queued or in-flight request listens for close(): hundreds at once are normal, not a leak.
  setMaxListeners(0, closing.signal);

  async function requestOnce(
    request: GenerateRequest,
    n: number,
    seed: number | undefined,
    signal: AbortSignal,
  ): Promise<ParsedResponse> {
    const topLogprobs = request.logprobs ? request.topLogprobs : undefined;
    if (chat) {
      const body = chatRequestBody(config.model, request, n, seed, config.chatPrefill);
      return parseChatResponse(await postJson(http, "/chat/completions", body, signal), topLogprobs);
    }
    const body = completionRequestBody(
      config.model,
      request as GenerateRequest & { prompt: string },
      n,
      seed,
    );
    return parseCompletionResponse(await postJson(http, "/completions", body, signal), topLogprobs);
  }

  function validate(request: GenerateRequest): void {
    parseOrThrow(generateRequestSchema, request, "generate request");
    if (!chat && typeof request.prompt !== "string")
      throw new InvalidInputError(
        "prompt",
        "completion mode takes a plain-text prompt, not chat messages",
        'use mode "chat" for messages',
      );
    if (chat && request.continuation && config.chatPrefill === "unsupported")
      throw new InvalidInputError(
        "continuation",
        "this chat server cannot continue a partial answer",
        'use mode "completion", or chatPrefill "assistant-message" / "vllm" if the server supports it',
      );
  }

  return {
    id: `openai:${config.model}`,
    capabilities,
    parameterCount: config.parameterCount,

    async generate(request: GenerateRequest): Promise<GenerateResponse> {
      validate(request);
      if (closing.signal.aborted) throw new BackendError("the openai backend was closed");
      throwIfAborted(request.signal);
      const started = performance.now();
      const { n, seed } = request;
      const signal = request.signal ? AbortSignal.any([request.signal, closing.signal]) : closing.signal;
      const responses: ParsedResponse[] = [];
      const choices: ParsedChoice[] = [];

      if (n === 1 || honoursN !== false) {
        const first = await requestOnce(request, n, seed, signal).catch((error: unknown) => {
          if (n > 1 && honoursN === undefined && rejectsN(error)) return undefined;
          throw error;
        });
        if (first) {
          responses.push(first);
          choices.push(...first.choices.slice(0, n));
        }
        if (n > 1 && config.nParameter === "auto") honoursN = (first?.choices.length ?? 0) >= n;
      }
      const missing = n - choices.length;
      if (missing > 0) {
        const start = choices.length;
        const singles = await inParallel(missing, signal, (i, sibling) =>
          requestOnce(request, 1, sampleSeed(seed, start + i), sibling),
        );
        for (const single of singles) {
          if (single.choices.length === 0)
            throw new BackendError(
              `${config.baseURL} returned no choices`,
              undefined,
              "check the server logs",
            );
          responses.push(single);
          choices.push(single.choices[0]!);
        }
      }
      return toGenerateResponse(request, responses, choices, performance.now() - started);
    },

    async close(): Promise<void> {
      closing.abort();
    },
  };
}

/** A 400/422 about `n` itself, e.g. llama.cpp server's "Only one completion choice is allowed". */
function rejectsN(error: unknown): boolean {
  return (
    error instanceof BackendError &&
    (error.status === 400 || error.status === 422) &&
    /\bn\b|choice/i.test(error.message.split("\n")[0]!)
  );
}

/**
 * The seed of sample `index` when the server ignores `n`: sample 0 keeps the seed itself (so a
 * detection call and later calls agree), others get distinct, reproducible seeds.
 */
export function sampleSeed(seed: number | undefined, index: number): number | undefined {
  if (seed === undefined || index === 0) return seed;
  let h = (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/** Runs `count` tasks together; the first failure cancels the others and is rethrown. */
async function inParallel<T>(
  count: number,
  signal: AbortSignal,
  task: (index: number, signal: AbortSignal) => Promise<T>,
): Promise<T[]> {
  const siblings = new AbortController();
  const combined = AbortSignal.any([signal, siblings.signal]);
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) =>
        task(i, combined).catch((error: unknown) => {
          siblings.abort();
          throw error;
        }),
      ),
    );
  } finally {
    siblings.abort();
  }
}

/** Rough tokens of text when the server reports none: about four characters per token. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

function promptText(request: GenerateRequest): string {
  const prompt =
    typeof request.prompt === "string" ? request.prompt : request.prompt.map((m) => m.content).join("\n");
  return prompt + (request.continuation ?? "");
}

function toGenerateResponse(
  request: GenerateRequest,
  responses: ParsedResponse[],
  choices: ParsedChoice[],
  latencyMs: number,
): GenerateResponse {
  const usage: Usage = {
    promptTokens: 0,
    completionTokens: 0,
    calls: responses.length,
    latencyMs,
    estimated: false,
  };
  const tokens: number[] = [];
  for (const response of responses) {
    const kept = response.choices.slice(0, Math.max(0, request.n - tokens.length));
    const counts = tokensPerChoice(response, kept);
    tokens.push(...counts);
    if (response.usage) {
      usage.promptTokens += response.usage.promptTokens;
      usage.completionTokens += response.usage.completionTokens;
      if (response.usage.cachedPromptTokens !== undefined)
        usage.cachedPromptTokens = (usage.cachedPromptTokens ?? 0) + response.usage.cachedPromptTokens;
    } else {
      usage.estimated = true;
      usage.promptTokens += estimateTokens(promptText(request));
      usage.completionTokens += counts.reduce((a, b) => a + b, 0);
    }
  }
  const completions: Completion[] = choices.map((choice, i) => {
    const completion: Completion = {
      text: choice.text,
      finishReason: choice.finishReason,
      tokens: tokens[i] ?? 0,
    };
    if (choice.logprobs) completion.logprobs = choice.logprobs;
    return completion;
  });
  return { completions, usage };
}

/**
 * Completion tokens of each choice: exact from logprobs or a single-choice usage; otherwise
 * the reported total split by text length; estimated when nothing was reported.
 */
function tokensPerChoice(response: ParsedResponse, kept: ParsedChoice[]): number[] {
  const total = response.usage?.completionTokens;
  if (total !== undefined && response.choices.length === 1) return kept.map(() => total);
  if (total === undefined) return kept.map((c) => c.logprobs?.length ?? estimateTokens(c.text));
  const chars = response.choices.reduce((sum, c) => sum + c.text.length, 0);
  return kept.map((c) =>
    c.logprobs
      ? c.logprobs.length
      : Math.round(chars > 0 ? (total * c.text.length) / chars : total / response.choices.length),
  );
}
