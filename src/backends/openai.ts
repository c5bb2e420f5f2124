import { setMaxListeners } from "node:events";
import { z } from "zod";
import type { Backend, BackendCapabilities, GenerateRequest, GenerateResponse } from "../core/backend.js";
import { AbortedError, BackendError, InvalidInputError, throwIfAborted } from "../core/errors.js";
import { sampleSeed } from "../core/random.js";
import type { Completion, Usage } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
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
    continuation: !chat || config.chatPrefill !== "unsupported",
    promptScoring: false,
    chat,
    streaming: false,
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
      const { n } = request;
      const offset = request.sampleOffset ?? 0;
      const seedOf = (index: number) =>
        request.seed === undefined ? undefined : sampleSeed(request.seed, offset + index);
      const signal = request.signal ? AbortSignal.any([request.signal, closing.signal]) : closing.signal;
      // Responses in sample order (singles may arrive in any order); each holds its kept choices.
      const arrived: { response: ParsedResponse; choices: ParsedChoice[] }[] = [];
      let inFlight = 0;
      // Requests that were in flight when the caller cancelled: each still cost a call and its prompt.
      let cutOff = 0;
      const arrive = (slot: number, response: ParsedResponse, kept: ParsedChoice[]) => {
        arrived[slot] = { response, choices: kept };
        // The same token counts the returned completions get, so a caller's sums agree with the usage.
        const tokens = tokensPerChoice(response, kept);
        kept.forEach((choice, i) => {
          request.onSample?.(toCompletion(choice, tokens[i] ?? 0), slot + i);
        });
      };
      const tracked = <T>(work: Promise<T>): Promise<T> => {
        inFlight += 1;
        return work.then(
          (value) => {
            inFlight -= 1;
            return value;
          },
          (error: unknown) => {
            inFlight -= 1;
            if (request.signal?.aborted) cutOff += 1;
            throw error;
          },
        );
      };
      const collect = () => {
        const done = arrived.filter((a) => a !== undefined);
        return toGenerateResponse(
          request,
          done.map((a) => a.response),
          done.flatMap((a) => a.choices),
          performance.now() - started,
        );
      };

      try {
        let start = 0;
        if (n === 1 || honoursN !== false) {
          const first = await tracked(requestOnce(request, n, seedOf(0), signal)).catch((error: unknown) => {
            if (n > 1 && honoursN === undefined && rejectsN(error)) return undefined;
            throw error;
          });
          if (first) {
            arrive(0, first, first.choices.slice(0, n));
            start = Math.min(n, first.choices.length);
          }
          if (n > 1 && config.nParameter === "auto") honoursN = (first?.choices.length ?? 0) >= n;
        }
        if (n - start > 0)
          await inParallel(n - start, signal, async (i, sibling) => {
            const single = await tracked(requestOnce(request, 1, seedOf(start + i), sibling));
            if (single.choices.length === 0)
              throw new BackendError(
                `${config.baseURL} returned no choices`,
                undefined,
                "check the server logs",
              );
            arrive(start + i, single, single.choices.slice(0, 1));
          });
      } catch (error) {
        if (!request.signal?.aborted) throw error;
        // Cancelled: the finished samples come back; requests cut off still cost their prompt.
        const partial = collect();
        const unanswered = inFlight + cutOff;
        partial.usage.calls += unanswered;
        partial.usage.promptTokens += unanswered * estimateTokens(promptText(request));
        if (unanswered > 0) partial.usage.estimated = true;
        throw new AbortedError(partial);
      }
      return collect();
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
  const completions = choices.map((choice, i) => toCompletion(choice, tokens[i] ?? 0));
  return { completions, usage };
}

function toCompletion(choice: ParsedChoice, tokens: number): Completion {
  const completion: Completion = { text: choice.text, finishReason: choice.finishReason, tokens };
  if (choice.stopSequence !== undefined) completion.stopSequence = choice.stopSequence;
  if (choice.logprobs) completion.logprobs = choice.logprobs;
  return completion;
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
