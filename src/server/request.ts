/**
 * The edge of the OpenAI API: request bodies parsed with zod (errors name the field), and the
 * strategy chosen, most specific first: the body's `reckon` object, a model-name prefix
 * (`self-consistency-16/<model>`), the server's default.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { SamplingOptions } from "../core/backend.js";
import { type BudgetLimits, budgetSchema } from "../core/budget.js";
import type { ChatMessage } from "../core/types.js";
import { formatIssuePath } from "../core/validate.js";
import { acceptsOption, defaultStrategies, getStrategy } from "../strategies/registry.js";
import type { Strategy } from "../strategies/strategy.js";
import type { ServerConfig } from "./config.js";
import { invalidRequest } from "./errors.js";

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });

const messageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant"], {
    error: "must be system, developer, user or assistant (tool calls are not supported)",
  }),
  content: z.union([z.string(), z.array(textPart)], { error: "must be a string or an array of text parts" }),
});

/** Sampling fields both endpoints share; unknown fields are ignored, as OpenAI clients send many. */
const samplingShape = {
  model: z.string({ error: "is required" }).min(1, "must not be empty"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).nullish(),
  seed: z.number().int().nullish(),
  n: z
    .literal(1, { error: "reckon answers with one choice; ask the strategy for samples with reckon.n" })
    .nullish(),
  reckon: z.unknown().optional(),
};

export const chatBodySchema = z.looseObject({
  ...samplingShape,
  messages: z.array(messageSchema).min(1, "must hold at least one message"),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

export const completionBodySchema = z.looseObject({
  ...samplingShape,
  prompt: z.union([z.string(), z.array(z.string()).length(1, "reckon takes one prompt per request")]),
  logprobs: z.number().int().min(0).max(20).nullish(),
});

/**
 * Fields that change what an answer is and that the proxy cannot honour: refused by name,
 * never dropped in silence. (Fields that only label a request, such as `user`, pass.)
 */
const unhonoured: Record<string, string> = {
  tools: "tool calls are not supported",
  tool_choice: "tool calls are not supported",
  functions: "function calls are not supported",
  function_call: "function calls are not supported",
  response_format: "structured output is not supported",
  logit_bias: "logit_bias is not supported",
  echo: "echo is not supported",
  suffix: "suffix is not supported",
  audio: "audio output is not supported",
  prediction: "predicted outputs are not supported",
};

const unhonouredFields = Object.entries(unhonoured);

/** The 400 for a field this proxy cannot honour with the chosen strategy, if any. */
export function refuseUnhonoured(body: Record<string, unknown>, strategy: string): void {
  for (const [field, why] of unhonouredFields) {
    const value = body[field];
    if (value === undefined || value === null || value === false) continue;
    if (field === "tool_choice" && value === "none") continue;
    throw invalidRequest(`${field}: ${why} by this proxy`, field);
  }
  for (const field of ["presence_penalty", "frequency_penalty"]) {
    const value = body[field];
    if (typeof value === "number" && value !== 0)
      throw invalidRequest(`${field}: penalties are not supported by this proxy`, field);
  }
  const best = body.best_of;
  if (typeof best === "number" && best !== 1)
    throw invalidRequest("best_of: ask the strategy for samples with reckon.n", "best_of");
  const wantsLogprobs =
    (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) ||
    (typeof body.top_logprobs === "number" && body.top_logprobs > 0);
  // Only a strategy whose answer is one sample has token log-probabilities to give.
  if (wantsLogprobs && strategy !== "single")
    throw invalidRequest(
      `logprobs: strategy "${strategy}" chooses among samples and has no log-probabilities of one answer; use strategy "single"`,
      "logprobs",
    );
}

export type ChatBody = z.infer<typeof chatBodySchema>;
export type CompletionBody = z.infer<typeof completionBodySchema>;

/** The `reckon` object: its own fields, and the rest as the strategy's options. */
const reckonSchema = z.looseObject({
  strategy: z.string().min(1).optional(),
  task: z.string().min(1).optional(),
  verifier: z.string().min(1).optional(),
  budget: budgetSchema.optional(),
  /** Send the trace events back in the response (they always stream as SSE comments). */
  trace: z.boolean().optional(),
});
/** Built once: a schema is costly to build, and every request without a `reckon` object passes. */
const optionalReckonSchema = reckonSchema.nullish();
const reckonOwnFields = ["strategy", "task", "verifier", "budget", "trace"];

/** The JSON body, or a 400 (OpenAI's words unless told otherwise) for one that does not parse. */
export async function readJson(
  c: Context,
  message = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest(message);
  }
}

/** Parses a body with `schema`, or a 400 naming the field as the client wrote it. */
export function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
  prefix = "",
): z.output<Schema> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = formatIssuePath(issue.path);
  const param = prefix && path ? `${prefix}.${path}` : prefix || path || null;
  throw invalidRequest(`Invalid ${param ?? "request body"}: ${issue.message}`, param);
}

export function chatMessages(body: ChatBody): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((part) => part.text).join(""),
  }));
}

/**
 * The sampling settings of a request; `maxTokensParam` is the client's name for the token limit
 * when its API does not call it `max_tokens` (`max_output_tokens`).
 */
export function samplingOf(
  body: ChatBody | CompletionBody,
  config: ServerConfig,
  maxTokensParam?: string,
): SamplingOptions {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  if (maxTokens !== undefined && maxTokens > config.limits.maxTokensPerSample) {
    const param = maxTokensParam ?? (body.max_completion_tokens ? "max_completion_tokens" : "max_tokens");
    throw invalidRequest(
      `${param} is ${maxTokens}, over this server's limit of ${config.limits.maxTokensPerSample}`,
      param,
    );
  }
  const sampling: SamplingOptions = {};
  if (body.temperature != null) sampling.temperature = body.temperature;
  if (body.top_p != null) sampling.topP = body.top_p;
  if (body.top_k != null) sampling.topK = body.top_k;
  if (maxTokens !== undefined) sampling.maxTokens = maxTokens;
  if (body.stop != null) sampling.stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  if (body.seed != null) sampling.seed = body.seed;
  // Chat asks with a flag (and top_logprobs); the completions endpoint with a count of alternatives.
  if (typeof body.logprobs === "number") {
    sampling.logprobs = true;
    sampling.topLogprobs = body.logprobs;
  } else if (body.logprobs === true) {
    sampling.logprobs = true;
    if ("top_logprobs" in body && typeof body.top_logprobs === "number")
      sampling.topLogprobs = body.top_logprobs;
  }
  return sampling;
}

export interface Selection {
  strategy: Strategy<unknown>;
  options: Record<string, unknown>;
  /** The upstream model, without a strategy prefix. */
  model: string;
  task?: string;
  verifier?: string;
  budget: BudgetLimits;
  trace: boolean;
}

/** `self-consistency-16/llama` → strategy, sample count, model; undefined when there is no prefix. */
export function parseModelPrefix(model: string): { strategy: string; n?: number; model: string } | undefined {
  const slash = model.indexOf("/");
  if (slash <= 0) return undefined;
  const head = model.slice(0, slash);
  const rest = model.slice(slash + 1);
  if (defaultStrategies.has(head)) return { strategy: head, model: rest };
  const numbered = /^(.+)-(\d+)$/.exec(head);
  if (numbered && defaultStrategies.has(numbered[1]!))
    return { strategy: numbered[1]!, n: Number(numbered[2]), model: rest };
  return undefined;
}

/** The strategy, its options and the budget of one request, checked against the limits. */
export function selectStrategy(model: string, rawReckon: unknown, config: ServerConfig): Selection {
  const reckon = parseBody(optionalReckonSchema, rawReckon, "reckon") ?? {};
  const prefix = parseModelPrefix(model);
  const strategyName = reckon.strategy ?? prefix?.strategy ?? config.defaultStrategy.name;
  let strategy: Strategy<unknown>;
  try {
    strategy = getStrategy(strategyName);
  } catch (error) {
    const param = reckon.strategy ? "reckon.strategy" : prefix ? "model" : "defaultStrategy";
    throw invalidRequest((error as Error).message.replace("invalid strategy:", `invalid ${param}:`), param);
  }
  const options: Record<string, unknown> =
    reckon.strategy === undefined && prefix === undefined ? { ...config.defaultStrategy.options } : {};
  if (prefix?.n !== undefined && (reckon.strategy === undefined || reckon.strategy === prefix.strategy)) {
    if (!acceptsOption(strategy, "n"))
      throw invalidRequest(`strategy "${strategy.name}" takes no sample count`, "model");
    options.n = prefix.n;
  }
  const fromPrefix = new Set(Object.keys(options));
  for (const [key, value] of Object.entries(reckon))
    if (!reckonOwnFields.includes(key)) {
      // An own property even for `__proto__`: the strategy's schema then refuses it by name.
      Object.defineProperty(options, key, { value, enumerable: true, writable: true, configurable: true });
      fromPrefix.delete(key);
    }

  const n = options.n;
  if (typeof n === "number" && n > config.limits.maxSamples)
    throw invalidRequest(
      `n is ${n}, over this server's limit of ${config.limits.maxSamples} samples per request`,
      "n" in reckon ? "reckon.n" : "model",
    );
  const parsed = strategy.options.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // An unknown option is named itself (`reckon.depth`), not the object holding it.
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
    const first = path[0];
    const param =
      typeof first === "string" && fromPrefix.has(first)
        ? "model"
        : `reckon${path.length > 0 ? `.${formatIssuePath(path)}` : ""}`;
    throw invalidRequest(`Invalid ${param}: ${issue.message}`, param);
  }

  const maxBudget = config.limits.maxBudgetTokens;
  const requested = reckon.budget?.maxTokens;
  if (requested !== undefined && requested > maxBudget)
    throw invalidRequest(
      `a budget of ${requested} tokens is over this server's limit of ${maxBudget}`,
      "reckon.budget.maxTokens",
    );
  // No budget unless asked for: under one, a strategy draws one sample first to learn the cost,
  // which costs a round trip; n and max_tokens already bound a request without it.
  const budget: BudgetLimits = { ...config.budget, ...reckon.budget };
  if (budget.maxTokens !== undefined) budget.maxTokens = Math.min(budget.maxTokens, maxBudget);
  return {
    strategy,
    options,
    model: prefix?.model ?? model,
    task: reckon.task,
    verifier: reckon.verifier,
    budget,
    trace: reckon.trace ?? false,
  };
}

/** An InvalidInputError's field in the request's words (run() validates again, by other names). */
export function requestParam(field: string): string {
  if (field === "verifier") return "reckon.verifier";
  if (field === "task") return "reckon.task";
  if (field.startsWith("strategy options")) return `reckon${field.slice("strategy options".length)}`;
  if (field.startsWith("budget")) return `reckon.${field}`;
  return field;
}
