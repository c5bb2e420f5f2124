import { setMaxListeners } from "node:events";
import { z } from "zod";
import {
  type Backend,
  type BackendCapabilities,
  type GenerateRequest,
  type GenerateResponse,
  reportWholeSample,
} from "../core/backend.js";
import { AbortedError, BackendError, InvalidInputError, throwIfAborted } from "../core/errors.js";
import { sampleSeed } from "../core/random.js";
import type { Completion, Usage } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import { Closing, type OpenAIHttpClient, postJson, postStream, type RetryEvent } from "./openai-http.js";
import { applyStops, applyThinkTags, StreamedChoices } from "./openai-stream.js";
import {
  chatRequestBody,
  completionRequestBody,
  type ParsedChoice,
  type ParsedResponse,
  parseChatChunk,
  parseChatResponse,
  parseCompletionChunk,
  parseCompletionResponse,
} from "./openai-wire.js";
import { Semaphore } from "./semaphore.js";
import { defaultThinkTags, opensThinking, type ThinkTags } from "./think-tags.js";

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
    /**
     * `auto` streams when a caller wants text or samples as they come or stop strings must be
     * found here; `never` for a server that cannot stream (then stop strings cannot be told from
     * the end of text unless the server names them).
     */
    stream: z.enum(["auto", "never"]).default("auto"),
    /**
     * Who finds stop strings: `server` for one that names the string that ended a choice (vLLM's
     * and SGLang's `stop_reason`), `client` to find them in the stream here, `auto` to find them
     * here until the server shows that it names them.
     */
    stopStrings: z.enum(["auto", "server", "client"]).default("auto"),
    /** Requests in flight at once, shared by every call on this backend. */
    concurrency: z.number().int().positive().default(4),
    /** Per attempt; local CPU servers can take minutes for long answers. */
    timeoutMs: z.number().positive().default(300_000),
    maxRetries: z.number().int().nonnegative().default(4),
    retryBaseDelayMs: z.number().nonnegative().default(500),
    retryMaxDelayMs: z.number().nonnegative().default(30_000),
    headers: z.record(z.string(), z.string()).default({}),
    parameterCount: z.number().positive().optional(),
    /**
     * The tags between which a reasoning model writes its thinking inline; that text becomes
     * the completion's `reasoning`, not its answer. `false` takes the text as it comes. Thinking
     * the server sends apart (`reasoning_content`, `reasoning`) is read either way.
     */
    thinkTags: z
      .union([z.tuple([z.string().min(1), z.string().min(1)]), z.literal(false)])
      .default([...defaultThinkTags]),
    onRetry: z.custom<(event: RetryEvent) => void>((value) => typeof value === "function").optional(),
  })
  .strict();

export type OpenAIBackendOptions = z.input<typeof openAIBackendOptionsSchema>;

const generateRequestSchema = z.object({
  n: z.number().int().positive(),
  seed: z.number().int().nonnegative().optional(),
  topLogprobs: z.number().int().nonnegative().optional(),
});

const isNatural = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;

/** What `generateRequestSchema` accepts, checked without zod (every request passes here). */
const isPlainRequest = (request: GenerateRequest) =>
  Number.isInteger(request.n) &&
  request.n > 0 &&
  (request.seed === undefined || isNatural(request.seed)) &&
  (request.topLogprobs === undefined || isNatural(request.topLogprobs));

/**
 * A backend for any OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp server, Ollama,
 * hosted APIs). `env` is read only here, for the API key default.
 *
 * It streams (server-sent events) when a caller wants text or samples as they come, or when
 * stop strings must be told from the end of text: a server that does not name the stop string
 * that ended a choice (anything but vLLM's and SGLang's `stop_reason`) is not sent the stop
 * strings; they are found in the stream here, and that sample's request is closed at once.
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
  const canStream = config.stream !== "never";
  const capabilities: BackendCapabilities = {
    multipleSamples: true,
    logprobs: config.logprobs,
    continuation: !chat || config.chatPrefill !== "unsupported",
    promptScoring: false,
    chat,
    streaming: canStream,
    stopSequences: canStream,
    // A request may name another model the same server serves (mixture of agents).
    modelChoice: true,
  };
  // Learned from answers: whether the server honours `n`, streams, and names stop strings.
  let honoursN: boolean | undefined = config.nParameter === "ignored" ? false : undefined;
  // The largest n answered in full, and the cap learned when a larger one was refused.
  let largestN = 1;
  let nCap: number | undefined;
  let streams: boolean | undefined;
  let namesStops: boolean | undefined = config.stopStrings === "server" ? true : undefined;
  const closing = new Closing();
  http.closing = closing;
  // Every wait for a slot or a retry listens for close(): hundreds at once are normal, not a leak.
  setMaxListeners(0, closing.signal);
  const path = chat ? "/chat/completions" : "/completions";
  const thinkTags: ThinkTags | undefined = config.thinkTags === false ? undefined : config.thinkTags;

  /** Whether the answers continue a think block that the prompt or the partial answer left open. */
  function startsThinking(request: GenerateRequest): boolean {
    if (!thinkTags) return false;
    const last = typeof request.prompt === "string" ? undefined : request.prompt.at(-1);
    const before =
      typeof request.prompt === "string" ? request.prompt : last?.role === "assistant" ? last.content : "";
    return opensThinking(before + (request.continuation ?? ""), thinkTags);
  }

  /** How the requests of one generate() call go out. */
  interface Plan {
    stream: boolean;
    /** Stop strings found here instead of by the server. */
    localStops: readonly string[];
    topLogprobs: number | undefined;
  }

  function planFor(request: GenerateRequest): Plan {
    const stops = request.stop ?? [];
    const local = stops.length > 0 && namesStops !== true && canStream;
    // Several choices stream too: some servers (llama.cpp's) report usage per choice only there.
    const stream =
      canStream &&
      streams !== false &&
      (local || request.n > 1 || request.onToken !== undefined || request.onSample !== undefined);
    return {
      stream,
      localStops: local ? stops : [],
      topLogprobs: request.logprobs ? request.topLogprobs : undefined,
    };
  }

  function learn(response: { reportsStopReason?: boolean }): void {
    if (response.reportsStopReason && config.stopStrings === "auto") namesStops = true;
  }

  /** A whole (not streamed) answer: its choices, cut at stop strings found here, thinking apart. */
  function parseWhole(json: unknown, request: GenerateRequest, plan: Plan): ParsedResponse {
    const parsed = chat
      ? parseChatResponse(json, plan.topLogprobs)
      : parseCompletionResponse(json, plan.topLogprobs);
    learn(parsed);
    const thinking = startsThinking(request);
    return {
      ...parsed,
      choices: parsed.choices.map((c) => applyThinkTags(applyStops(c, plan.localStops), thinkTags, thinking)),
    };
  }

  /**
   * One HTTP request for `n` choices numbered from `slot`. A streamed one registers its choices
   * in `open` while it runs, so a cancellation can return what they had received.
   */
  function requestOnce(
    request: GenerateRequest,
    plan: Plan,
    n: number,
    slot: number,
    seed: number | undefined,
    signal: AbortSignal | undefined,
    open: Set<StreamedChoices>,
  ): Promise<{ response: ParsedResponse; reported: boolean }> {
    const wire = { n, seed, stream: plan.stream, sendStop: plan.localStops.length === 0 };
    const body = chat
      ? chatRequestBody(config.model, request, wire, config.chatPrefill)
      : completionRequestBody(config.model, request as GenerateRequest & { prompt: string }, wire);
    // A whole answer needs no frame of its own waiting for it.
    if (!plan.stream)
      return postJson(http, path, body, signal).then((json) => ({
        response: parseWhole(json, request, plan),
        reported: false,
      }));
    return requestStreamed(request, plan, n, slot, body, signal, open);
  }

  /** `requestOnce` asking for an event stream. */
  async function requestStreamed(
    request: GenerateRequest,
    plan: Plan,
    n: number,
    slot: number,
    body: string,
    signal: AbortSignal | undefined,
    open: Set<StreamedChoices>,
  ): Promise<{ response: ParsedResponse; reported: boolean }> {
    const choices = new StreamedChoices({
      n,
      stops: plan.localStops,
      wantLogprobs: request.logprobs === true,
      ...(thinkTags ? { thinkTags, startThinking: startsThinking(request) } : {}),
      ...(request.onToken
        ? { onToken: (event) => request.onToken!({ ...event, index: slot + event.index }) }
        : {}),
      ...(request.onSample
        ? { onChoice: (choice, i) => request.onSample!(toCompletion(choice, choice.tokens ?? 0), slot + i) }
        : {}),
    });
    open.add(choices);
    const parseChunk = chat ? parseChatChunk : parseCompletionChunk;
    const answer = await postStream(
      http,
      path,
      body,
      (event) => choices.consume(parseChunk(event, plan.topLogprobs)),
      signal,
    );
    open.delete(choices);
    if ("json" in answer) {
      // The server answered without streaming: it cannot, so stop asking.
      streams = false;
      return { response: parseWhole(answer.json, request, plan), reported: false };
    }
    const response = choices.response();
    learn(response);
    return { response, reported: true };
  }

  function validate(request: GenerateRequest): void {
    // The schema names what is wrong; the common request (a positive n, no seed or a natural
    // one, no alternatives asked) passes without building its parse.
    if (!isPlainRequest(request)) parseOrThrow(generateRequestSchema, request, "generate request");
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
      if (closing.closed) throw new BackendError("the openai backend was closed");
      throwIfAborted(request.signal);
      const started = performance.now();
      const { n } = request;
      const plan = planFor(request);
      const offset = request.sampleOffset ?? 0;
      // Each attempt also stops on close() (see Closing), so the caller's signal goes down as it is.
      const { signal } = request;
      // Responses in sample order (singles may arrive in any order); each holds its kept choices.
      const arrived: Arrived = [];
      // Streams still running, and requests that were cut off before answering.
      const open = new Set<StreamedChoices>();
      let inFlight = 0;
      let cutOff = 0;

      try {
        let start = 0;
        // Stop strings found here end one sample at a time: each sample gets its own request.
        const together = n === 1 || (honoursN !== false && plan.localStops.length === 0);
        if (together) {
          // A server may cap n (llama.cpp's server at its slot count): ask within the cap it showed.
          const asked = Math.min(n, nCap ?? n);
          let first: { response: ParsedResponse; reported: boolean } | undefined;
          inFlight += 1;
          try {
            first = await requestOnce(request, plan, asked, 0, seedAt(request, offset), signal, open);
          } catch (error) {
            if (request.signal?.aborted) cutOff += 1;
            if (asked === 1 || !rejectsN(error)) throw error;
            if (honoursN === true) nCap = largestN;
          } finally {
            inFlight -= 1;
          }
          if (first) {
            arrive(request, arrived, 0, first, asked);
            start = Math.min(asked, first.response.choices.length);
            if (start > 1) largestN = Math.max(largestN, start);
          }
          if (asked > 1 && config.nParameter === "auto" && honoursN !== true)
            honoursN = (first?.response.choices.length ?? 0) >= asked;
        }
        if (n - start > 0)
          await inParallel(n - start, signal, async (i, sibling) => {
            const slot = start + i;
            let single: { response: ParsedResponse; reported: boolean };
            inFlight += 1;
            try {
              single = await requestOnce(
                request,
                plan,
                1,
                slot,
                seedAt(request, offset + slot),
                sibling,
                open,
              );
            } catch (error) {
              if (request.signal?.aborted) cutOff += 1;
              throw error;
            } finally {
              inFlight -= 1;
            }
            if (single.response.choices.length === 0)
              throw new BackendError(
                `${config.baseURL} returned no choices`,
                undefined,
                "check the server logs",
              );
            arrive(request, arrived, slot, single, 1);
          });
      } catch (error) {
        if (!request.signal?.aborted) throw error;
        // Cancelled: the finished samples come back, streams with what they had received;
        // requests cut off before answering still cost their prompt.
        const streamed = [...open].map((choices) => choices.response());
        const partial = collect(request, arrived, performance.now() - started, streamed);
        const unanswered = Math.max(0, inFlight + cutOff - streamed.length);
        partial.usage.calls += unanswered;
        partial.usage.promptTokens += unanswered * estimateTokens(promptText(request));
        if (unanswered > 0) partial.usage.estimated = true;
        throw new AbortedError(partial);
      }
      return collect(request, arrived, performance.now() - started);
    },

    async close(): Promise<void> {
      closing.close();
    },
  };
}

/** A response's choices as they arrived, in sample order (singles may arrive in any order). */
type Arrived = { response: ParsedResponse; choices: ParsedChoice[] }[];

/** The seed of the sample at draw index `index`, when the request is seeded. */
const seedAt = (request: GenerateRequest, index: number) =>
  request.seed === undefined ? undefined : sampleSeed(request.seed, index);

/** Keeps an answer's first `count` choices at `slot`, and reports them when it was not streamed. */
function arrive(
  request: GenerateRequest,
  arrived: Arrived,
  slot: number,
  answer: { response: ParsedResponse; reported: boolean },
  count: number,
): void {
  const { response } = answer;
  const kept = response.choices.slice(0, count);
  arrived[slot] = { response, choices: kept };
  // Reported as it streamed, or nobody to report to (a served request that does not stream).
  if (answer.reported || (!request.onToken && !request.onSample)) return;
  // The same token counts the returned completions get, so a caller's sums agree with the usage.
  const tokens = tokensPerChoice(response, kept);
  kept.forEach((choice, i) => {
    reportWholeSample(request, toCompletion(choice, tokens[i] ?? 0), slot + i);
  });
}

/** The call's answer from what arrived, and from streams cut short (a cancelled call). */
function collect(
  request: GenerateRequest,
  arrived: Arrived,
  latencyMs: number,
  cutShort: ParsedResponse[] = [],
): GenerateResponse {
  const responses: ParsedResponse[] = [];
  const choices: ParsedChoice[] = [];
  for (const a of arrived) {
    if (a === undefined) continue;
    responses.push(a.response);
    choices.push(...a.choices);
  }
  for (const r of cutShort) {
    // A stream cut off before its first token cost a call but holds no sample.
    const begun = { ...r, choices: r.choices.filter((c) => c.text !== "" || (c.tokens ?? 0) > 0) };
    responses.push(begun);
    choices.push(...begun.choices);
  }
  return toGenerateResponse(request, responses, choices, latencyMs);
}

/** A refusal of `n` itself, e.g. a server's "Only one completion choice is allowed". */
const rejectsN = (error: unknown): boolean => error instanceof BackendError && error.code === "n-unsupported";

/** Runs `count` tasks together; the first failure cancels the others and is rethrown. */
async function inParallel<T>(
  count: number,
  signal: AbortSignal | undefined,
  task: (index: number, signal: AbortSignal) => Promise<T>,
): Promise<T[]> {
  const siblings = new AbortController();
  const combined = signal ? AbortSignal.any([signal, siblings.signal]) : siblings.signal;
  // Each task waiting for a connection listens to it: many at once are expected.
  setMaxListeners(0, combined);
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
    // A stream closed early (a stop string found here, or a cancellation) has no usage event.
    const counts = tokensPerChoice(response, kept);
    tokens.push(...counts);
    if (response.usage) {
      if (response.usageEstimated) usage.estimated = true;
      usage.promptTokens += response.usage.promptTokens;
      usage.completionTokens += response.usage.completionTokens;
      if (response.usage.cachedPromptTokens !== undefined)
        usage.cachedPromptTokens = (usage.cachedPromptTokens ?? 0) + response.usage.cachedPromptTokens;
      if (response.usage.reasoningTokens !== undefined)
        usage.reasoningTokens = (usage.reasoningTokens ?? 0) + response.usage.reasoningTokens;
    } else {
      usage.estimated = true;
      usage.promptTokens += estimateTokens(promptText(request));
      usage.completionTokens += counts.reduce((a, b) => a + b, 0);
    }
  }
  const completions = choices.map((choice, i) => toCompletion(choice, tokens[i] ?? 0));
  // A lone sample's thinking tokens are the call's.
  if (completions.length === 1 && usage.reasoningTokens !== undefined)
    completions[0]!.reasoningTokens = usage.reasoningTokens;
  return { completions, usage };
}

function toCompletion(choice: ParsedChoice, tokens: number): Completion {
  const completion: Completion = { text: choice.text, finishReason: choice.finishReason, tokens };
  if (choice.reasoning !== undefined) completion.reasoning = choice.reasoning;
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
  // Counted while streaming, or reported per choice.
  if (kept.every((c) => c.tokens !== undefined)) return kept.map((c) => c.tokens!);
  if (total === undefined) return kept.map((c) => c.tokens ?? c.logprobs?.length ?? estimateTokens(c.text));
  const chars = response.choices.reduce((sum, c) => sum + c.text.length, 0);
  return kept.map((c) =>
    c.logprobs
      ? c.logprobs.length
      : Math.round(chars > 0 ? (total * c.text.length) / chars : total / response.choices.length),
  );
}
