/**
 * POST /v1/messages: Anthropic's Messages API (the `anthropic` SDKs, Claude Code) in front of
 * the pipeline every API shares. The request becomes a chat request (`system` the system
 * message, text blocks joined, `stop_sequences` the stop strings) and runs the same strategy a
 * chat completion would; the answer comes back as a Message, or as Anthropic's named events.
 * Keys come as `x-api-key` or `Authorization: Bearer`; errors, here alone, in Anthropic's shape.
 */
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { type HttpError, invalidRequest } from "./errors.js";
import { type Answer, type AnswerStream, prepareAnswer, type RouteDeps } from "./pipeline.js";
import { type ChatBody, parseBody, readJson } from "./request.js";
import type { OpenAIUsage } from "./responses.js";
import type { SseStream } from "./stream.js";

export const messagesRoute = "/v1/messages";

/** Requests under this path are answered with Anthropic's error bodies. */
export const isMessagesPath = (path: string) =>
  path === messagesRoute || path.startsWith(`${messagesRoute}/`);

const contentBlock = z.looseObject({
  type: z.enum(["text", "thinking", "redacted_thinking"], {
    error: "must be text (images, documents, tool use and tool results are not supported)",
  }),
  text: z.string().optional(),
});
const textBlock = z.looseObject({ type: z.literal("text", { error: "must be text" }), text: z.string() });

const messageSchema = z.looseObject({
  role: z.enum(["user", "assistant"], { error: "must be user or assistant" }),
  content: z.union([z.string(), z.array(z.unknown())], {
    error: "must be a string or a list of content blocks",
  }),
});

export const messagesBodySchema = z.looseObject({
  model: z.string({ error: "is required" }).min(1, "must not be empty"),
  max_tokens: z
    .number({ error: (issue) => (issue.input === undefined ? "is required" : "must be a positive integer") })
    .int()
    .positive(),
  messages: z
    .array(z.unknown(), { error: "must be a list of messages" })
    .min(1, "must hold at least one message"),
  system: z
    .union([z.string(), z.array(z.unknown())], { error: "must be a string or a list of text blocks" })
    .nullish(),
  temperature: z.number().min(0).max(1).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  stop_sequences: z.array(z.string()).max(16, "reckon takes at most 16 stop sequences").nullish(),
  stream: z.boolean().nullish(),
  /** `disabled` (or none): the answer alone; otherwise the thinking too, as a thinking block. */
  thinking: z.looseObject({ type: z.string() }).nullish(),
  /** reckon's own field, as on the chat route: the strategy and its options. */
  reckon: z.unknown().optional(),
});
export type MessagesBody = z.infer<typeof messagesBodySchema>;

/**
 * Fields that change what an answer is and that the proxy cannot honour: refused by name,
 * never dropped in silence. (Fields that only label a request pass: `metadata`,
 * `service_tier`, `inference_geo`.)
 */
function refuseUnhonoured(body: Record<string, unknown>): void {
  const set = (value: unknown) =>
    value !== undefined && value !== null && value !== false && !(Array.isArray(value) && value.length === 0);
  const refuse = (field: string, why: string) => {
    throw invalidRequest(`${field}: ${why} by this proxy`, field);
  };
  if (set(body.tools)) refuse("tools", "tool use is not supported");
  const choice = (body.tool_choice as { type?: unknown } | null | undefined)?.type;
  if (set(body.tool_choice) && choice !== "none" && choice !== "auto")
    refuse("tool_choice", "tool use is not supported");
  if (set(body.mcp_servers)) refuse("mcp_servers", "MCP servers are not supported");
  if (set(body.container)) refuse("container", "containers are not supported");
  if (set(body.context_management)) refuse("context_management", "context management is not supported");
  if (set(body.output_format)) refuse("output_format", "structured output is not supported");
  const config = body.output_config as { effort?: unknown; format?: unknown } | null | undefined;
  if (set(config?.format)) refuse("output_config.format", "structured output is not supported");
  if (set(config?.effort))
    refuse("output_config.effort", "effort is the upstream model's own setting; it is not supported");
}

/** Text blocks' texts, joined; thinking blocks of earlier answers are not part of the prompt. */
function textOf(
  content: string | unknown[],
  where: string,
  schema: z.ZodType<{ type: string }> = contentBlock,
): string {
  if (typeof content === "string") return content;
  const texts: string[] = [];
  content.forEach((raw, i) => {
    const at = `${where}[${i}]`;
    if (parseBody(schema, raw, at).type === "text") texts.push(parseBody(textBlock, raw, at).text);
  });
  return texts.join("\n");
}

/** The request in the chat route's shape, for the shared pipeline. */
function chatBodyOf(body: MessagesBody): ChatBody {
  const messages: ChatBody["messages"] = [];
  if (body.system != null) {
    const system = textOf(body.system, "system", textBlock);
    if (system !== "") messages.push({ role: "system", content: system });
  }
  body.messages.forEach((raw, i) => {
    const message = parseBody(messageSchema, raw, `messages[${i}]`);
    messages.push({ role: message.role, content: textOf(message.content, `messages[${i}].content`) });
  });
  return {
    model: body.model,
    messages,
    stream: body.stream === true,
    max_tokens: body.max_tokens,
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    ...(body.top_k != null ? { top_k: body.top_k } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
    ...(body.reckon !== undefined ? { reckon: body.reckon } : {}),
  };
}

export function messagesRoutes(app: Hono, deps: RouteDeps): void {
  app.post(messagesRoute, (c) => answerMessage(c, deps));
}

async function answerMessage(c: Context, deps: RouteDeps): Promise<Response> {
  const caller = deps.auth.identifyWithApiKeyHeader(c.req.header("authorization"), c.req.header("x-api-key"));
  const body = parseBody(
    messagesBodySchema,
    await readJson(c, "The request body is not valid JSON: send a JSON object."),
  );
  refuseUnhonoured(body);
  const prepared = await prepareAnswer(deps, {
    endpoint: "chat",
    body: chatBodyOf(body),
    caller,
    id: `msg_${randomUUID().replaceAll("-", "")}`,
    route: messagesRoute,
    api: "messages",
    context: c,
  });
  const { id } = prepared.ids;
  const showThinking = body.thinking != null && body.thinking.type !== "disabled";
  const stops = body.stop_sequences ?? [];

  if (body.stream !== true) {
    const answer = await prepared.answer();
    const content = [
      ...(showThinking && answer.reasoning ? [thinkingBlock(answer.reasoning)] : []),
      { type: "text", text: answer.text },
    ];
    return c.json(
      {
        id,
        type: "message",
        role: "assistant",
        model: body.model,
        content,
        ...stopOf(answer, stops),
        usage: anthropicUsage(answer.usage),
        reckon: answer.reckon,
      },
      200,
      { "server-timing": answer.serverTiming },
    );
  }
  return prepared.stream((sse) => new MessageEvents(sse, id, body.model, showThinking, stops));
}

/** The thinking, unsigned: a proxy cannot sign it as Anthropic does, so the signature is empty. */
const thinkingBlock = (thinking: string) => ({ type: "thinking", thinking, signature: "" });

/** Why the answer ended, in Anthropic's terms: one of the client's stop sequences is named. */
function stopOf(
  answer: Answer,
  stops: readonly string[],
): { stop_reason: "end_turn" | "max_tokens" | "stop_sequence"; stop_sequence: string | null } {
  const chosen = answer.chosen;
  if (chosen?.finishReason === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  if (chosen?.finishReason === "stop-sequence" && stops.length > 0) {
    // An engine that does not say which stop string matched: the client's only one, if it sent one.
    const matched = chosen.stopSequence ?? (stops.length === 1 ? stops[0] : undefined);
    if (matched === undefined || stops.includes(matched))
      return { stop_reason: "stop_sequence", stop_sequence: matched ?? null };
  }
  return { stop_reason: "end_turn", stop_sequence: null };
}

/**
 * `usage` in Anthropic's words: `input_tokens` leaves out prompt tokens read from the
 * upstream's cache (`cache_read_input_tokens`); verifier tokens are reckon's own field.
 */
export function anthropicUsage(usage: OpenAIUsage) {
  const cached = usage.prompt_tokens_details.cached_tokens;
  return {
    input_tokens: usage.prompt_tokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: usage.completion_tokens,
    verifier_tokens: usage.verifier_tokens,
  };
}

/** Anthropic's error type for an HTTP status. */
function errorType(status: number): string {
  const types: Record<number, string> = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
  };
  return types[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/** An error in Anthropic's shape: `{type: "error", error: {type, message}}`. */
export function anthropicErrorBody(failure: HttpError) {
  return {
    type: "error",
    error: { type: errorType(failure.status), message: failure.message },
    request_id: null,
  };
}

/**
 * Anthropic's stream of one message: `message_start` and a `ping` at once; the thinking (when
 * asked for) as a thinking block, then the answer as a text block, each started, filled with
 * deltas and stopped; `message_delta` with the stop reason and the usage (`input_tokens` is
 * only known here: `message_start` says 0), and `message_stop`. A failure is an `error` event.
 */
class MessageEvents implements AnswerStream {
  private blocks = 0;
  private thinking?: number;
  private textBlock?: number;

  constructor(
    private readonly sse: SseStream,
    id: string,
    model: string,
    private readonly showThinking: boolean,
    private readonly stops: readonly string[],
  ) {
    this.send("message_start", {
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
    this.send("ping", {});
  }

  reasoning(piece: string): void {
    if (!this.showThinking || this.textBlock !== undefined) return;
    if (this.thinking === undefined) {
      this.thinking = this.blocks++;
      this.send("content_block_start", { index: this.thinking, content_block: thinkingBlock("") });
    }
    this.send("content_block_delta", {
      index: this.thinking,
      delta: { type: "thinking_delta", thinking: piece },
    });
  }

  text(piece: string): void {
    const index = this.openText();
    this.send("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
  }

  end(answer: Answer): void {
    this.send("content_block_stop", { index: this.openText() });
    this.send("message_delta", {
      delta: stopOf(answer, this.stops),
      usage: anthropicUsage(answer.usage),
      reckon: answer.reckon,
    });
    this.send("message_stop", {});
  }

  fail(failure: HttpError): void {
    this.send("error", anthropicErrorBody(failure));
  }

  /** The text block, started now if it is not yet (the thinking block stopped first). */
  private openText(): number {
    if (this.textBlock !== undefined) return this.textBlock;
    if (this.thinking !== undefined) this.send("content_block_stop", { index: this.thinking });
    this.textBlock = this.blocks++;
    this.send("content_block_start", { index: this.textBlock, content_block: { type: "text", text: "" } });
    return this.textBlock;
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.sse.event(type, { type, ...fields });
  }
}
