/**
 * The unmodified `@anthropic-ai/sdk` client (`client.messages.create`, streaming with
 * `stream: true` and `client.messages.stream`) against `reckon serve` in front of a loopback
 * upstream: the strategy's answer, stop reasons, usage, thinking blocks, keys as `x-api-key` or
 * Bearer, refused fields and errors in Anthropic's shape, and the route's metrics.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { run } from "../../src/run.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const question = "Q: 12*7+45-9*3+16=?\n";
const key = "sk-messages-test-key";
const thinking = "First guess: \\boxed{7}. Check again.";
let upstream: OpenAITestServer;
let thinker: OpenAITestServer;
let proxy: RunningProxy;
let thinkingProxy: RunningProxy;
let client: Anthropic;

beforeAll(async () => {
  // The openai-client tests' stand-in: right two times in three, by sample index.
  upstream = await startOpenAITestServer({
    respond: (request, index) => (((request.seed ?? 0) + index) % 3 === 2 ? "A: 7" : "12*7=84\nA: 118"),
  });
  // A reasoning model: it thinks apart from its answer.
  thinker = await startOpenAITestServer({
    respond: (_request, index) => ({
      reasoning: thinking,
      text: `The answer is \\boxed{${index === 1 ? 6 : 5}}.`,
    }),
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic", apiKeys: [{ key }] });
  thinkingProxy = await startProxy({ upstreams: [thinker.url], task: "math" });
  client = new Anthropic({ baseURL: proxy.url, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await thinkingProxy?.close();
  await upstream?.close();
  await thinker?.close();
});

const ask = (
  model: string,
  extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {},
): Anthropic.MessageCreateParamsNonStreaming => ({
  model,
  max_tokens: 256,
  messages: [{ role: "user", content: question }],
  ...extra,
});

const textOf = (message: Anthropic.Message) =>
  message.content.map((block) => (block.type === "text" ? block.text : "")).join("");

// biome-ignore lint/suspicious/noExplicitAny: the reckon field is an extension Anthropic's types do not know
const reckonOf = (value: unknown): any => (value as { reckon: unknown }).reckon;

describe("client.messages.create", () => {
  it("answers with a self-consistency vote, as the library's run() does, and counts its usage", async () => {
    const before = upstream.requests.length;
    const message = await client.messages.create(ask("self-consistency-8/test-model"));
    expect(message.id).toMatch(/^msg_/);
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(message.model).toBe("self-consistency-8/test-model");
    expect(message.content).toHaveLength(1);
    expect(message.content[0]!.type).toBe("text");
    expect(arithmeticTask.extractAnswer(textOf(message))).toBe("118");
    expect(message.stop_reason).toBe("end_turn");
    expect(message.stop_sequence).toBeNull();

    const sent = upstream.requests.slice(before);
    expect(sent.map((r) => r.body.n)).toEqual([8]);
    expect(sent[0]!.body).toMatchObject({ model: "test-model", max_tokens: 256 });

    const direct = await run({
      problem: { id: "direct", prompt: [{ role: "user", content: question }], task: arithmeticTask },
      backend: createOpenAIBackend({ baseURL: upstream.url, model: "test-model" }),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling: { maxTokens: 256 },
    });
    expect(direct.answer).toBe("118");
    expect(reckonOf(message).tally).toEqual(direct.tally);
    expect(message.usage.input_tokens).toBe(direct.usage.promptTokens);
    expect(message.usage.output_tokens).toBe(direct.usage.completionTokens);
    expect(message.usage.cache_read_input_tokens).toBe(0);
  });

  it("sends system text blocks and the conversation's text blocks upstream, with the sampling fields", async () => {
    const before = upstream.requests.length;
    await client.messages.create({
      ...ask("single/test-model"),
      system: [
        { type: "text", text: "Answer in the form A: n." },
        { type: "text", text: "Show the work." },
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: "Q: 1+1=?" }] },
        { role: "assistant", content: "A: 2" },
        { role: "user", content: question },
      ],
    });
    const sent = upstream.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.messages).toEqual([
      { role: "system", content: "Answer in the form A: n.\nShow the work." },
      { role: "user", content: "Q: 1+1=?" },
      { role: "assistant", content: "A: 2" },
      { role: "user", content: question },
    ]);
    expect(sent[0]!.body.max_tokens).toBe(256);
  });

  it("takes temperature, top_p and top_k (body fields the SDK's types no longer list)", async () => {
    const before = upstream.requests.length;
    const response = await postJson(
      `${proxy.url}/v1/messages`,
      { ...ask("single/test-model"), temperature: 0.5, top_p: 0.9, top_k: 5 },
      { "x-api-key": key },
    );
    expect(response.status).toBe(200);
    expect(upstream.requests.slice(before)[0]!.body).toMatchObject({
      temperature: 0.5,
      top_p: 0.9,
      top_k: 5,
    });
  });

  it("says which stop sequence ended the answer", async () => {
    const message = await client.messages.create(ask("single/test-model", { stop_sequences: ["A:"] }));
    expect(message.stop_reason).toBe("stop_sequence");
    expect(message.stop_sequence).toBe("A:");
    expect(textOf(message)).toBe("12*7=84\n");
  });

  it("says max_tokens when the answer was cut at its token limit", async () => {
    const message = await client.messages.create(ask("single/test-model", { max_tokens: 2 }));
    expect(message.stop_reason).toBe("max_tokens");
    expect(textOf(message)).toBe("12*7=84\nA: ");
    expect(message.usage.output_tokens).toBe(2);
  });
});

describe("streaming", () => {
  it("streams Anthropic's events with stream: true, whose text deltas make the non-streamed answer", async () => {
    const request = ask("self-consistency-6/test-model");
    const plain = await client.messages.create(request);
    const stream = await client.messages.create({ ...request, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);

    expect(events.filter((e) => e.type !== "content_block_delta").map((e) => e.type)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const text = events
      .map((e) => (e.type === "content_block_delta" && e.delta.type === "text_delta" ? e.delta.text : ""))
      .join("");
    expect(text).toBe(textOf(plain));
    const delta = events.find((e) => e.type === "message_delta");
    if (delta?.type !== "message_delta") throw new Error("no message_delta");
    expect(delta.delta.stop_reason).toBe("end_turn");
    expect(delta.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(delta.usage.input_tokens).toBe(plain.usage.input_tokens);
  });

  it("folds into the final message through client.messages.stream", async () => {
    const request = ask("single/test-model");
    const plain = await client.messages.create(request);
    const stream = client.messages.stream(request);
    let deltas = "";
    stream.on("text", (piece) => {
      deltas += piece;
    });
    const final = await stream.finalMessage();
    expect(textOf(final)).toBe(textOf(plain));
    expect(deltas).toBe(textOf(plain));
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
  });
  it("ends a stream whose request failed with an error event the SDK raises", async () => {
    const down = await startOpenAITestServer({ faults: () => ({ kind: "status", status: 500 }) });
    const server = await startProxy({ upstreams: [down.url], pool: { maxAttempts: 1 } });
    try {
      const failing = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
      const stream = await failing.messages.create({ ...ask("test-model"), stream: true });
      const types: string[] = [];
      const error = await (async () => {
        for await (const event of stream) types.push(event.type);
      })().catch((e) => e);
      expect(types).toEqual(["message_start"]);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect(error.error).toMatchObject({ type: "error", error: { type: "api_error" } });
    } finally {
      await server.close();
      await down.close();
    }
  });
});

describe("reasoning models", () => {
  it("returns the thinking as a thinking block only when thinking is asked for", async () => {
    const thinkingClient = new Anthropic({ baseURL: thinkingProxy.url, apiKey: "unused", maxRetries: 0 });
    const request = {
      model: "self-consistency-4/test-model",
      max_tokens: 256,
      messages: [{ role: "user" as const, content: "What is 2+3?" }],
    };
    const plain = await thinkingClient.messages.create(request);
    expect(plain.content.map((block) => block.type)).toEqual(["text"]);
    const thought = await thinkingClient.messages.create({
      ...request,
      thinking: { type: "enabled", budget_tokens: 128 },
    });
    expect(thought.content.map((block) => block.type)).toEqual(["thinking", "text"]);
    expect(thought.content[0]).toMatchObject({ type: "thinking", thinking });
    expect(textOf(thought)).toBe("The answer is \\boxed{5}.");
  });

  it("streams the thinking block before the text block", async () => {
    const thinkingClient = new Anthropic({ baseURL: thinkingProxy.url, apiKey: "unused", maxRetries: 0 });
    const stream = thinkingClient.messages.stream({
      model: "single/test-model",
      max_tokens: 256,
      messages: [{ role: "user", content: "What is 2+3?" }],
      thinking: { type: "enabled", budget_tokens: 128 },
    });
    let streamedThinking = "";
    stream.on("thinking", (piece) => {
      streamedThinking += piece;
    });
    const final = await stream.finalMessage();
    expect(streamedThinking).toBe(thinking);
    expect(final.content.map((block) => block.type)).toEqual(["thinking", "text"]);
    expect(textOf(final)).toBe("The answer is \\boxed{5}.");
  });
});

describe("keys", () => {
  it("answers a wrong key with a 401 in Anthropic's shape, which the SDK raises as AuthenticationError", async () => {
    const wrong = new Anthropic({ baseURL: proxy.url, apiKey: "sk-wrong-key-0000", maxRetries: 0 });
    const error = await wrong.messages.create(ask("test-model")).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error.status).toBe(401);
    expect(error.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("takes the key as x-api-key, as Claude Code and older SDKs send it", async () => {
    const viaHeader = (apiKey: string) =>
      new Anthropic({
        baseURL: proxy.url,
        apiKey: null,
        defaultHeaders: { "x-api-key": apiKey },
        maxRetries: 0,
      });
    const message = await viaHeader(key).messages.create(ask("test-model"));
    expect(arithmeticTask.extractAnswer(textOf(message))).toBe("118");
    const error = await viaHeader("sk-wrong-key-0000")
      .messages.create(ask("test-model"))
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("refuses a request without a key, and one whose two headers name different keys", async () => {
    const none = await postJson(`${proxy.url}/v1/messages`, ask("test-model"));
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const mixed = await postJson(`${proxy.url}/v1/messages`, ask("test-model"), {
      "x-api-key": key,
      authorization: "Bearer sk-wrong-key-0000",
    });
    expect(mixed.status).toBe(401);
  });

  it("takes x-api-key on this route only: the OpenAI routes still want Bearer", async () => {
    const chat = await postJson(
      `${proxy.url}/v1/chat/completions`,
      { model: "test-model", messages: [{ role: "user", content: question }] },
      { "x-api-key": key },
    );
    expect(chat.status).toBe(401);
    expect(chat.json.error.message).toMatch(/Bearer/);
  });
});

describe("what is refused", () => {
  it.each<[string, Record<string, unknown>]>([
    ["tools", { tools: [{ name: "f", input_schema: { type: "object" } }] }],
    ["tool_choice", { tool_choice: { type: "any" } }],
    ["output_config.format", { output_config: { format: { type: "json_schema", schema: {} } } }],
    [
      "messages[0].content[0].type",
      { messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "x" } }] }] },
    ],
    ["max_tokens", { max_tokens: undefined }],
    ["temperature", { temperature: 1.5 }],
  ])(
    "refuses %s with a 400 in Anthropic's shape naming it, before anything is drawn",
    async (field, fields) => {
      const before = upstream.requests.length;
      const error = await client.messages
        .create({ ...ask("test-model"), ...fields } as Anthropic.MessageCreateParamsNonStreaming)
        .catch((e) => e);
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect(error.error).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
      expect(error.error.error.message).toContain(field);
      expect(upstream.requests.length).toBe(before);
    },
  );

  it("answers errors raised before the route in Anthropic's shape too (method, content type)", async () => {
    const get = await fetch(`${proxy.url}/v1/messages`, { headers: { "x-api-key": key } });
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    const form = await fetch(`${proxy.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "text/plain" },
      body: "hello",
    });
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("counts the route's requests, streamed or not, under its own label", async () => {
    const count = async (status: number) => {
      const page = await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      const found = new RegExp(
        `reckon_http_requests_total\\{route="/v1/messages",status="${status}"\\} (\\d+)`,
      ).exec(await page.text());
      return Number(found?.[1] ?? 0);
    };
    const [ok, refused] = [await count(200), await count(400)];
    await client.messages.create(ask("test-model"));
    await client.messages.stream(ask("test-model")).finalMessage();
    await client.messages.create(ask("test-model", { messages: [] })).catch(() => undefined);
    expect(await count(200)).toBe(ok + 2);
    expect(await count(400)).toBe(refused + 1);
  });
});
