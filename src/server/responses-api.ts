/**
 * POST /v1/responses: OpenAI's Responses API in front of the pipeline every API shares. The
 * request becomes a chat request (`instructions` the system message, `input` the messages,
 * `max_output_tokens` the token limit) and runs the same strategy a chat completion would; the
 * answer comes back as a Response object, or as the Responses API's stream of named events.
 * Nothing is stored: fields that need a stored response, tools or structured output are
 * refused by name.
 */
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { z } from "zod";
import type { HttpError } from "./errors.js";
import { invalidRequest } from "./errors.js";
import { type Answer, type AnswerStream, prepareAnswer, type RouteDeps } from "./pipeline.js";
import { type ChatBody, parseBody, readJson } from "./request.js";
import type { OpenAIUsage, ReckonSummary } from "./responses.js";
import type { SseStream } from "./stream.js";

const textPart = z.looseObject({
  type: z.enum(["input_text", "output_text"], {
    error: "must be input_text or output_text (images, files and audio are not supported)",
  }),
  text: z.string(),
});

/** An input item: a message, or an earlier answer's reasoning passed back (not part of the prompt). */
const inputItem = z.looseObject({
  type: z
    .enum(["message", "reasoning"], {
      error: "must be message (tool calls, tool outputs and item references are not supported)",
    })
    .optional(),
});

const messageItem = z.looseObject({
  role: z.enum(["user", "assistant", "system", "developer"], {
    error: "must be user, assistant, system or developer",
  }),
  content: z.union([z.string(), z.array(z.unknown())], {
    error: "must be a string or a list of input_text parts",
  }),
});

export const responsesBodySchema = z.looseObject({
  model: z.string({ error: "is required" }).min(1, "must not be empty"),
  input: z.union([z.string(), z.array(z.unknown()).min(1, "must hold at least one item")], {
    error: "must be a string or a list of input items",
  }),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  /** reckon's own field, as on the chat route: the strategy and its options. */
  reckon: z.unknown().optional(),
});
export type ResponsesBody = z.infer<typeof responsesBodySchema>;

/**
 * Fields that change what an answer is and that the proxy cannot honour, each with why: refused
 * by name, never dropped in silence. (Fields that only label a request pass: `user`,
 * `safety_identifier`, `prompt_cache_key`, `service_tier`, `metadata`.)
 */
function refuseUnhonoured(body: Record<string, unknown>): void {
  const set = (value: unknown) => value !== undefined && value !== null && value !== false;
  const refuse = (field: string, why: string) => {
    throw invalidRequest(`${field}: ${why}`, field);
  };
  const { tools, tool_choice, text, reasoning, include } = body;
  if (Array.isArray(tools) ? tools.length > 0 : set(tools))
    refuse("tools", "tool calls are not supported by this proxy");
  if (set(tool_choice) && tool_choice !== "none" && tool_choice !== "auto")
    refuse("tool_choice", "tool calls are not supported by this proxy");
  for (const field of ["previous_response_id", "conversation"])
    if (set(body[field]))
      refuse(field, "this proxy stores no responses or conversations; send the whole conversation in input");
  if (body.store === true)
    refuse("store", "this proxy stores no responses; send store: false or leave it out");
  if (set(body.background)) refuse("background", "background responses are not supported by this proxy");
  if (set(body.prompt)) refuse("prompt", "prompt templates are not supported by this proxy");
  if (Array.isArray(include) ? include.length > 0 : set(include))
    refuse("include", "this proxy has no extra output to include");
  if (typeof body.top_logprobs === "number" && body.top_logprobs > 0)
    refuse("top_logprobs", "log-probabilities are not supported on this route; use /v1/chat/completions");
  if (body.truncation === "auto")
    refuse("truncation", "this proxy never drops input; leave truncation disabled");
  const format = (text as { format?: { type?: unknown } } | null | undefined)?.format;
  if (set(format) && format?.type !== "text")
    refuse("text.format", "structured output is not supported by this proxy");
  const verbosity = (text as { verbosity?: unknown } | null | undefined)?.verbosity;
  if (set(verbosity) && verbosity !== "medium")
    refuse("text.verbosity", "verbosity is not supported by this proxy");
  if (set((reasoning as { effort?: unknown } | null | undefined)?.effort))
    refuse(
      "reasoning.effort",
      "reasoning effort is the upstream model's own setting; not supported by this proxy",
    );
}

/** The conversation as chat messages: `instructions` first, then `input`'s messages. */
export function messagesOf(body: ResponsesBody): ChatBody["messages"] {
  const messages: ChatBody["messages"] = [];
  if (body.instructions) messages.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") {
    messages.push({ role: "user", content: body.input });
    return messages;
  }
  body.input.forEach((raw, i) => {
    const where = `input[${i}]`;
    // Thinking shown with an earlier answer: as on the chat route, it is not part of the prompt.
    if (parseBody(inputItem, raw, where).type === "reasoning") return;
    const item = parseBody(messageItem, raw, where);
    const content =
      typeof item.content === "string"
        ? item.content
        : item.content.map((part, j) => parseBody(textPart, part, `${where}.content[${j}]`).text).join("");
    messages.push({ role: item.role === "developer" ? "system" : item.role, content });
  });
  if (messages.every((m) => m.role === "system"))
    throw invalidRequest("Invalid input: must hold at least one user or assistant message", "input");
  return messages;
}

/** The request in the chat route's shape, for the shared pipeline. */
function chatBodyOf(body: ResponsesBody): ChatBody {
  return {
    model: body.model,
    messages: messagesOf(body),
    stream: body.stream === true,
    ...(body.max_output_tokens != null ? { max_tokens: body.max_output_tokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    ...(body.reckon !== undefined ? { reckon: body.reckon } : {}),
  };
}

export function responsesRoutes(app: Hono, deps: RouteDeps): void {
  app.post("/v1/responses", (c) => respond(c, deps));
}

async function respond(c: Context, deps: RouteDeps): Promise<Response> {
  const caller = deps.auth.identify(c.req.header("authorization"));
  const body = parseBody(responsesBodySchema, await readJson(c));
  refuseUnhonoured(body);
  const hex = randomUUID().replaceAll("-", "");
  const prepared = await prepareAnswer(deps, {
    endpoint: "chat",
    body: chatBodyOf(body),
    caller,
    id: `resp_${hex}`,
    route: "/v1/responses",
    api: "responses",
    maxTokensParam: "max_output_tokens",
    context: c,
  });
  const shape = new ResponseShape(body, prepared.ids.id, prepared.ids.created, hex);

  if (body.stream !== true) {
    const answer = await prepared.answer();
    const output = [
      ...(answer.reasoning ? [shape.reasoningItem(answer.reasoning)] : []),
      shape.messageItem(answer.text, cutShort(answer)),
    ];
    return c.json(shape.response(cutShort(answer) ? "incomplete" : "completed", output, answer), 200, {
      "server-timing": answer.serverTiming,
    });
  }
  return prepared.stream((sse) => new ResponseEvents(sse, shape));
}

/** The chosen answer stopped at its token limit: the response is incomplete. */
const cutShort = (answer: Answer) => answer.chosen?.finishReason === "length";

type Status = "in_progress" | "completed" | "incomplete" | "failed";

/** The Responses API's objects for one response. */
class ResponseShape {
  readonly reasoningId: string;
  readonly messageId: string;

  constructor(
    private readonly body: ResponsesBody,
    readonly id: string,
    private readonly createdAt: number,
    hex: string,
  ) {
    this.reasoningId = `rs_${hex}`;
    this.messageId = `msg_${hex}`;
  }

  /** The thinking, as written (not a summary): a `reasoning_text` part, as open-weight servers send it. */
  reasoningItem(text: string, status: Status = "completed") {
    return {
      id: this.reasoningId,
      type: "reasoning",
      summary: [],
      content: [{ type: "reasoning_text", text }],
      status,
    };
  }

  messageItem(text: string, incomplete: boolean, status: Status = incomplete ? "incomplete" : "completed") {
    return {
      id: this.messageId,
      type: "message",
      role: "assistant",
      status,
      content: [outputText(text)],
    };
  }

  response(status: Status, output: unknown[], answer?: Answer, error?: HttpError) {
    const { body } = this;
    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status,
      background: false,
      error: error ? { code: error.code ?? error.type, message: error.message } : null,
      incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      metadata: body.metadata ?? {},
      model: body.model,
      output,
      parallel_tool_calls: false,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: body.temperature ?? null,
      text: { format: { type: "text" } },
      tool_choice: "none",
      tools: [],
      top_p: body.top_p ?? null,
      truncation: "disabled",
      usage: answer ? responsesUsage(answer.usage) : null,
      ...(answer ? { reckon: answer.reckon satisfies ReckonSummary } : {}),
    };
  }
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** `usage` in the Responses API's words; `total_tokens` counts verifier tokens too, as on chat. */
export function responsesUsage(usage: OpenAIUsage) {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details.cached_tokens },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
    verifier_tokens: usage.verifier_tokens,
  };
}

/**
 * The Responses API's stream of one response: `response.created` and `response.in_progress`
 * at once; the thinking (if any) as a reasoning item, then the answer as a message item, each
 * opened, filled with deltas and closed; `response.completed` (or `response.incomplete`) with
 * the whole response last. Every event has its `type` and a `sequence_number`. Thinking that
 * arrives once the answer's text has begun is left out (the reasoning item is closed by then).
 */
class ResponseEvents implements AnswerStream {
  private sequence = 0;
  private readonly output: unknown[] = [];
  private thinking?: { index: number; text: string };
  private message?: { index: number; text: string };

  constructor(
    private readonly sse: SseStream,
    private readonly shape: ResponseShape,
  ) {
    const started = shape.response("in_progress", []);
    this.send("response.created", { response: started });
    this.send("response.in_progress", { response: started });
  }

  reasoning(piece: string): void {
    if (this.message) return;
    if (!this.thinking) {
      this.thinking = { index: this.output.length, text: "" };
      this.output.push(null);
      const item = { ...this.shape.reasoningItem("", "in_progress"), content: [] };
      this.send("response.output_item.added", { output_index: this.thinking.index, item });
      this.send("response.content_part.added", {
        ...this.at(this.thinking, this.shape.reasoningId),
        part: { type: "reasoning_text", text: "" },
      });
    }
    this.thinking.text += piece;
    this.send("response.reasoning_text.delta", {
      ...this.at(this.thinking, this.shape.reasoningId),
      delta: piece,
    });
  }

  text(piece: string): void {
    const message = this.openMessage();
    message.text += piece;
    this.send("response.output_text.delta", {
      ...this.at(message, this.shape.messageId),
      delta: piece,
      logprobs: [],
    });
  }

  end(answer: Answer): void {
    const message = this.openMessage();
    const incomplete = cutShort(answer);
    const at = this.at(message, this.shape.messageId);
    this.send("response.output_text.done", { ...at, text: message.text, logprobs: [] });
    this.send("response.content_part.done", { ...at, part: outputText(message.text) });
    const item = this.shape.messageItem(message.text, incomplete);
    this.output[message.index] = item;
    this.send("response.output_item.done", { output_index: message.index, item });
    const status = incomplete ? "incomplete" : "completed";
    this.send(`response.${status}`, { response: this.shape.response(status, this.output, answer) });
  }

  fail(failure: HttpError): void {
    this.send("error", {
      code: failure.code ?? failure.type,
      message: failure.message,
      param: failure.param,
    });
    const output = this.output.filter((item) => item !== null);
    this.send("response.failed", { response: this.shape.response("failed", output, undefined, failure) });
  }

  /** The message item, opened now if it is not yet (the reasoning item closed first). */
  private openMessage(): { index: number; text: string } {
    if (this.message) return this.message;
    this.closeReasoning();
    this.message = { index: this.output.length, text: "" };
    this.output.push(null);
    const item = { ...this.shape.messageItem("", false, "in_progress"), content: [] };
    this.send("response.output_item.added", { output_index: this.message.index, item });
    this.send("response.content_part.added", {
      ...this.at(this.message, this.shape.messageId),
      part: outputText(""),
    });
    return this.message;
  }

  private closeReasoning(): void {
    const thinking = this.thinking;
    if (!thinking) return;
    const at = this.at(thinking, this.shape.reasoningId);
    this.send("response.reasoning_text.done", { ...at, text: thinking.text });
    this.send("response.content_part.done", { ...at, part: { type: "reasoning_text", text: thinking.text } });
    const item = this.shape.reasoningItem(thinking.text);
    this.output[thinking.index] = item;
    this.send("response.output_item.done", { output_index: thinking.index, item });
  }

  private at(item: { index: number }, id: string) {
    return { item_id: id, output_index: item.index, content_index: 0 };
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.sse.event(type, { type, sequence_number: this.sequence++, ...fields });
  }
}
