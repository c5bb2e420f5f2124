import { z } from "zod";
import type { GenerateRequest } from "../core/backend.js";
import { BackendError } from "../core/errors.js";
import type { ChatMessage, FinishReason, TokenLogprob } from "../core/types.js";

/** How a chat server is asked to continue a partial assistant answer. */
export type ChatPrefill = "assistant-message" | "vllm" | "unsupported";

/** How one request goes on the wire. */
export interface WireOptions {
  n: number;
  seed: number | undefined;
  /** Ask for server-sent events, with the usage in the last one. */
  stream: boolean;
  /** Send the stop strings (false when they are found on this side of the stream). */
  sendStop: boolean;
}

/**
 * The sampling fields both endpoints share, in the wire names: JSON members, each led by a
 * comma, to follow the body's first ones. Bodies are written as text directly: a served
 * request would otherwise build an object per layer only for JSON.stringify to walk it.
 */
function samplingFields(request: GenerateRequest, wire: WireOptions): string {
  const { n, seed } = wire;
  let fields = "";
  if (wire.stream) fields += ',"stream":true,"stream_options":{"include_usage":true}';
  // Omitting n=1 keeps strict servers that reject the field (some proxies) working for single samples.
  if (n > 1) fields += `,"n":${n}`;
  if (request.temperature !== undefined) fields += `,"temperature":${JSON.stringify(request.temperature)}`;
  if (request.topP !== undefined) fields += `,"top_p":${JSON.stringify(request.topP)}`;
  if (request.topK !== undefined) fields += `,"top_k":${JSON.stringify(request.topK)}`;
  if (request.maxTokens !== undefined) fields += `,"max_tokens":${JSON.stringify(request.maxTokens)}`;
  if (wire.sendStop && request.stop !== undefined && request.stop.length > 0)
    fields += `,"stop":${JSON.stringify(request.stop)}`;
  if (seed !== undefined) fields += `,"seed":${JSON.stringify(seed)}`;
  if (request.ignoreEos) fields += `,"ignore_eos":true`;
  return fields;
}

/** The JSON body of a chat request. */
export function chatRequestBody(
  model: string,
  request: GenerateRequest,
  wire: WireOptions,
  prefill: ChatPrefill,
): string {
  let messages: readonly ChatMessage[] =
    typeof request.prompt === "string" ? [{ role: "user", content: request.prompt }] : request.prompt;
  let body = `{"model":${JSON.stringify(request.model ?? model)}`;
  if (request.continuation) {
    const last = messages.at(-1);
    messages =
      last?.role === "assistant"
        ? [...messages.slice(0, -1), { ...last, content: last.content + request.continuation }]
        : [...messages, { role: "assistant", content: request.continuation }];
  }
  body += `,"messages":${JSON.stringify(messages)}`;
  if (request.continuation && prefill === "vllm")
    body += ',"continue_final_message":true,"add_generation_prompt":false';
  body += samplingFields(request, wire);
  if (request.logprobs) {
    body += ',"logprobs":true';
    if (request.topLogprobs) body += `,"top_logprobs":${JSON.stringify(request.topLogprobs)}`;
  }
  return `${body}}`;
}

/** The JSON body of a (legacy, plain-text) completion request. */
export function completionRequestBody(
  model: string,
  request: GenerateRequest & { prompt: string },
  wire: WireOptions,
): string {
  let body = `{"model":${JSON.stringify(request.model ?? model)},"prompt":${JSON.stringify(request.prompt + (request.continuation ?? ""))}`;
  body += samplingFields(request, wire);
  // The legacy endpoint takes a count of alternatives; at least 1, as some servers (llama.cpp's)
  // read 0 as no logprobs at all. Alternatives nobody asked for are not kept.
  if (request.logprobs) body += `,"logprobs":${Math.max(1, request.topLogprobs ?? 0)}`;
  return `${body}}`;
}

/** One returned choice, engine-neutral. */
export interface ParsedChoice {
  text: string;
  /** A reasoning model's thinking, apart from the answer in `text`. */
  reasoning?: string;
  finishReason: FinishReason;
  stopSequence?: string;
  logprobs?: TokenLogprob[];
  /** Tokens counted while streaming, for when the server reports no usage. */
  tokens?: number;
}

export interface ParsedResponse {
  choices: ParsedChoice[];
  /** `promptTokens` excludes `cachedPromptTokens`, as in core Usage. */
  usage?: {
    promptTokens: number;
    completionTokens: number;
    cachedPromptTokens?: number;
    /** Of `completionTokens`, those spent thinking (`completion_tokens_details.reasoning_tokens`). */
    reasoningTokens?: number;
  };
  /** The server names the stop string that ended a choice (vLLM's and SGLang's `stop_reason`). */
  reportsStopReason?: boolean;
  /** Part of `usage` was counted here, not reported (a stream closed before its last event). */
  usageEstimated?: boolean;
}

const usageSchema = z.object({
  prompt_tokens: z.number().nonnegative(),
  completion_tokens: z.number().nonnegative(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().nonnegative().nullish() }).nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().nonnegative().nullish() }).nullish(),
});

/**
 * The thinking a server sends apart from the answer: `reasoning_content` (vLLM, SGLang,
 * DeepSeek's API, llama.cpp's server) or `reasoning` (newer vLLM, OpenRouter, Ollama).
 */
const reasoningFields = {
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
};

const reasoningOf = (fields: { reasoning_content?: string | null; reasoning?: string | null }): string =>
  fields.reasoning_content ?? fields.reasoning ?? "";

const alternativeSchema = z.object({ token: z.string(), logprob: z.number() });

const chatLogprobsSchema = z.object({
  content: z
    .array(alternativeSchema.extend({ top_logprobs: z.array(alternativeSchema).nullish() }))
    .nullish(),
});

/** The legacy parallel arrays; llama.cpp's server answers in the chat shape on this endpoint too. */
const completionLogprobsSchema = z.union([
  z.object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number().nullable()),
    top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullish(),
  }),
  chatLogprobsSchema,
]);

const chatResponseSchema = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().optional(),
      message: z.object({ content: z.string().nullish(), ...reasoningFields }),
      finish_reason: z.string().nullish(),
      stop_reason: z.union([z.string(), z.number()]).nullish(),
      logprobs: chatLogprobsSchema.nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
});

const completionResponseSchema = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().optional(),
      text: z.string(),
      finish_reason: z.string().nullish(),
      stop_reason: z.union([z.string(), z.number()]).nullish(),
      logprobs: completionLogprobsSchema.nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
});

/**
 * OpenAI says "stop" for both the end of sequence and a stop string; vLLM and SGLang add the
 * matched string as `stop_reason` (a token id when a stop token ended it), which tells them apart.
 */
function finishOf(
  raw: string | null | undefined,
  stopReason: unknown,
): Pick<ParsedChoice, "finishReason" | "stopSequence"> {
  if (raw === "length") return { finishReason: "length" };
  if (raw === "abort") return { finishReason: "aborted" };
  if (typeof stopReason === "string" && stopReason.length > 0)
    return { finishReason: "stop-sequence", stopSequence: stopReason };
  return { finishReason: "eos" };
}

/** Choices in `index` order, as servers may send them in any order. */
function byIndex<T extends { index?: number }>(choices: T[]): T[] {
  return choices.every((c) => c.index !== undefined)
    ? [...choices].sort((a, b) => a.index! - b.index!)
    : choices;
}

function parseWith<Schema extends z.ZodType>(
  schema: Schema,
  json: unknown,
  endpoint: string,
): z.output<Schema> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const serverError = (json as { error?: { message?: unknown } } | null)?.error;
  if (serverError) {
    const message = typeof serverError === "string" ? serverError : String(serverError.message ?? "");
    throw new BackendError(`${endpoint} reported an error: ${message}`, undefined, "check the server logs");
  }
  const issue = parsed.error.issues[0]!;
  throw new BackendError(
    `${endpoint} answered in an unexpected shape: field ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    undefined,
    "is this an OpenAI-compatible endpoint, in the right mode (chat or completion)?",
  );
}

function usageOf(usage: z.infer<typeof usageSchema> | null | undefined): ParsedResponse["usage"] {
  if (!usage) return undefined;
  const cached = Math.min(usage.prompt_tokens, usage.prompt_tokens_details?.cached_tokens ?? 0);
  const parsed: ParsedResponse["usage"] = {
    promptTokens: usage.prompt_tokens - cached,
    completionTokens: usage.completion_tokens,
  };
  if (cached > 0) parsed.cachedPromptTokens = cached;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (reasoning) parsed.reasoningTokens = Math.min(reasoning, usage.completion_tokens);
  return parsed;
}

type ChatLogprobs = z.infer<typeof chatLogprobsSchema>;
type CompletionLogprobs = z.infer<typeof completionLogprobsSchema>;

function chatLogprobs(content: ChatLogprobs["content"], topLogprobs: number | undefined): TokenLogprob[] {
  return (content ?? []).map((entry) => {
    const token: TokenLogprob = { token: entry.token, logprob: entry.logprob };
    if (topLogprobs && entry.top_logprobs?.length)
      token.top = entry.top_logprobs.map(({ token, logprob }) => ({ token, logprob }));
    return token;
  });
}

function completionLogprobs(logprobs: CompletionLogprobs, topLogprobs: number | undefined): TokenLogprob[] {
  if (!("tokens" in logprobs)) return chatLogprobs(logprobs.content, topLogprobs);
  const tokens: TokenLogprob[] = [];
  logprobs.tokens.forEach((text, i) => {
    const logprob = logprobs.token_logprobs[i];
    // null marks a token without a score (e.g. the first prompt token when echoing)
    if (logprob === null || logprob === undefined) return;
    const token: TokenLogprob = { token: text, logprob };
    const top = logprobs.top_logprobs?.[i];
    if (topLogprobs && top) {
      token.top = Object.entries(top)
        .map(([alternative, value]) => ({ token: alternative, logprob: value }))
        .sort((a, b) => b.logprob - a.logprob);
    }
    tokens.push(token);
  });
  return tokens;
}

export function parseChatResponse(json: unknown, topLogprobs: number | undefined): ParsedResponse {
  const data = parseWith(chatResponseSchema, json, "chat/completions");
  return {
    choices: byIndex(data.choices).map((choice) => {
      const parsed: ParsedChoice = {
        text: choice.message.content ?? "",
        ...finishOf(choice.finish_reason, choice.stop_reason),
      };
      const reasoning = reasoningOf(choice.message);
      if (reasoning !== "") parsed.reasoning = reasoning;
      if (choice.logprobs?.content) parsed.logprobs = chatLogprobs(choice.logprobs.content, topLogprobs);
      return parsed;
    }),
    usage: usageOf(data.usage),
    reportsStopReason: data.choices.some((choice) => choice.stop_reason !== undefined),
  };
}

export function parseCompletionResponse(json: unknown, topLogprobs: number | undefined): ParsedResponse {
  const data = parseWith(completionResponseSchema, json, "completions");
  return {
    choices: byIndex(data.choices).map((choice) => {
      const parsed: ParsedChoice = {
        text: choice.text,
        ...finishOf(choice.finish_reason, choice.stop_reason),
      };
      if (choice.logprobs) parsed.logprobs = completionLogprobs(choice.logprobs, topLogprobs);
      return parsed;
    }),
    usage: usageOf(data.usage),
    reportsStopReason: data.choices.some((choice) => choice.stop_reason !== undefined),
  };
}

/** One event of a streamed answer: new text of some choices, and the usage in the last one. */
export interface ParsedChunk {
  choices: {
    index: number;
    text: string;
    /** New thinking sent apart from the answer (`delta.reasoning_content`), when any. */
    reasoning?: string;
    /** Set on the event that ends the choice. */
    finish?: Pick<ParsedChoice, "finishReason" | "stopSequence">;
    logprobs?: TokenLogprob[];
  }[];
  usage?: ParsedResponse["usage"];
  /** The server names the stop string that ended a choice (vLLM's and SGLang's `stop_reason`). */
  reportsStopReason: boolean;
}

const chatChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().default(0),
        delta: z.object({ content: z.string().nullish(), ...reasoningFields }).nullish(),
        finish_reason: z.string().nullish(),
        stop_reason: z.union([z.string(), z.number()]).nullish(),
        logprobs: chatLogprobsSchema.nullish(),
      }),
    )
    .default([]),
  usage: usageSchema.nullish(),
});

const completionChunkSchema = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().default(0),
        text: z.string().nullish(),
        finish_reason: z.string().nullish(),
        stop_reason: z.union([z.string(), z.number()]).nullish(),
        logprobs: completionLogprobsSchema.nullish(),
      }),
    )
    .default([]),
  usage: usageSchema.nullish(),
});

export function parseChatChunk(json: unknown, topLogprobs: number | undefined): ParsedChunk {
  const data = parseWith(chatChunkSchema, json, "chat/completions stream");
  return {
    choices: data.choices.map((choice) => ({
      index: choice.index,
      text: choice.delta?.content ?? "",
      ...(choice.delta && reasoningOf(choice.delta) !== "" ? { reasoning: reasoningOf(choice.delta) } : {}),
      ...(choice.finish_reason ? { finish: finishOf(choice.finish_reason, choice.stop_reason) } : {}),
      ...(choice.logprobs?.content ? { logprobs: chatLogprobs(choice.logprobs.content, topLogprobs) } : {}),
    })),
    usage: usageOf(data.usage),
    reportsStopReason: data.choices.some((choice) => choice.stop_reason !== undefined),
  };
}

export function parseCompletionChunk(json: unknown, topLogprobs: number | undefined): ParsedChunk {
  const data = parseWith(completionChunkSchema, json, "completions stream");
  return {
    choices: data.choices.map((choice) => ({
      index: choice.index,
      text: choice.text ?? "",
      ...(choice.finish_reason ? { finish: finishOf(choice.finish_reason, choice.stop_reason) } : {}),
      ...(choice.logprobs ? { logprobs: completionLogprobs(choice.logprobs, topLogprobs) } : {}),
    })),
    usage: usageOf(data.usage),
    reportsStopReason: data.choices.some((choice) => choice.stop_reason !== undefined),
  };
}
