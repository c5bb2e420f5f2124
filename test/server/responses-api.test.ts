/**
 * The unmodified `openai` client's Responses API (`client.responses.create`, `.stream`) against
 * `reckon serve` in front of a loopback upstream: the strategy's answer, usage, the event
 * stream the SDK folds into a response, keys, refused fields and the route's metrics.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { run } from "../../src/run.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { type RunningProxy, startProxy } from "./helpers.js";

const question = "Q: 12*7+45-9*3+16=?\n";
const key = "sk-responses-test-key";
let upstream: OpenAITestServer;
let thinker: OpenAITestServer;
let proxy: RunningProxy;
let thinkingProxy: RunningProxy;
let client: OpenAI;

beforeAll(async () => {
  // The openai-client tests' stand-in: right two times in three, by sample index.
  upstream = await startOpenAITestServer({
    respond: (request, index) => (((request.seed ?? 0) + index) % 3 === 2 ? "A: 7" : "12*7=84\nA: 118"),
  });
  // A reasoning model: it thinks apart from its answer.
  thinker = await startOpenAITestServer({
    respond: (_request, index) => ({
      reasoning: "First guess: \\boxed{7}. Check again.",
      text: `The answer is \\boxed{${index === 1 ? 6 : 5}}.`,
    }),
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic", apiKeys: [{ key }] });
  thinkingProxy = await startProxy({ upstreams: [thinker.url], task: "math" });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await thinkingProxy?.close();
  await upstream?.close();
  await thinker?.close();
});

/** A response's answer as its message item holds it (the SDK adds `output_text` to `create`'s results only). */
const messageText = (response: OpenAI.Responses.Response) =>
  response.output
    .flatMap((item) => (item.type === "message" ? item.content : []))
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("");

// biome-ignore lint/suspicious/noExplicitAny: the reckon field is an extension OpenAI's types do not know
const reckonOf = (value: unknown): any => (value as { reckon: unknown }).reckon;

describe("client.responses.create", () => {
  it("answers with a self-consistency vote, as the library's run() does, and counts its usage", async () => {
    const before = upstream.requests.length;
    const response = await client.responses.create({
      model: "self-consistency-8/test-model",
      input: question,
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.model).toBe("self-consistency-8/test-model");
    expect(response.output).toHaveLength(1);
    const message = response.output[0]!;
    expect(message.type).toBe("message");
    if (message.type !== "message") throw new Error("not a message");
    expect(message.role).toBe("assistant");
    expect(message.content[0]).toMatchObject({ type: "output_text", annotations: [] });
    // The SDK's own output_text, read by the task: the vote's answer.
    expect(arithmeticTask.extractAnswer(response.output_text)).toBe("118");

    const sent = upstream.requests.slice(before);
    expect(sent.map((r) => r.body.n)).toEqual([8]);
    expect(sent[0]!.body.model).toBe("test-model");
    expect(sent[0]!.body.messages).toEqual([{ role: "user", content: question }]);

    const direct = await run({
      problem: { id: "direct", prompt: [{ role: "user", content: question }], task: arithmeticTask },
      backend: createOpenAIBackend({ baseURL: upstream.url, model: "test-model" }),
      strategy: "self-consistency",
      options: { n: 8 },
    });
    expect(direct.answer).toBe("118");
    expect(reckonOf(response).tally).toEqual(direct.tally);
    expect(response.usage?.input_tokens).toBe(direct.usage.promptTokens);
    expect(response.usage?.output_tokens).toBe(direct.usage.completionTokens);
    expect(response.usage?.total_tokens).toBe(direct.usage.promptTokens + direct.usage.completionTokens);
    expect(response.usage?.input_tokens_details.cached_tokens).toBe(0);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(0);
  });

  it("sends instructions as the system message and input items as the conversation, with the sampling fields", async () => {
    const before = upstream.requests.length;
    const response = await client.responses.create({
      model: "single/test-model",
      instructions: "Answer in the form A: n.",
      input: [
        { role: "user", content: [{ type: "input_text", text: "Q: 1+1=?" }] },
        { role: "assistant", content: "A: 2" },
        { role: "user", content: [{ type: "input_text", text: question }] },
      ],
      max_output_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
    });
    expect(response.status).toBe("completed");
    expect(response.max_output_tokens).toBe(64);
    const sent = upstream.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.messages).toEqual([
      { role: "system", content: "Answer in the form A: n." },
      { role: "user", content: "Q: 1+1=?" },
      { role: "assistant", content: "A: 2" },
      { role: "user", content: question },
    ]);
    expect(sent[0]!.body).toMatchObject({ max_tokens: 64, temperature: 0.5, top_p: 0.9 });
  });

  it("says a response cut by max_output_tokens is incomplete", async () => {
    const response = await client.responses.create({
      model: "single/test-model",
      input: question,
      max_output_tokens: 2,
    });
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(response.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    expect(response.output_text).toBe("12*7=84\nA: ");
    expect(response.usage?.output_tokens).toBe(2);
  });
});

describe("streaming", () => {
  it("streams the events the SDK expects, whose deltas make the non-streamed answer", async () => {
    const request = { model: "self-consistency-6/test-model", input: question };
    const plain = await client.responses.create(request);
    const stream = await client.responses.create({ ...request, stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);

    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => e.type !== "response.output_text.delta").map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const text = events.map((e) => (e.type === "response.output_text.delta" ? e.delta : "")).join("");
    expect(text).toBe(plain.output_text);
    const done = events.find((e) => e.type === "response.output_text.done");
    expect(done?.type === "response.output_text.done" && done.text).toBe(text);
    const completed = events.at(-1)!;
    if (completed.type !== "response.completed") throw new Error("no response.completed");
    expect(completed.response.status).toBe("completed");
    expect(completed.response.usage).toEqual(plain.usage);
    expect(reckonOf(completed.response).tally).toEqual(reckonOf(plain).tally);
    const created = events[0]!;
    expect(created.type === "response.created" && created.response.id).toBe(completed.response.id);
  });

  it("folds into the final response through client.responses.stream", async () => {
    const request = { model: "single/test-model", input: question };
    const plain = await client.responses.create(request);
    const stream = client.responses.stream(request);
    let deltas = "";
    stream.on("response.output_text.delta", (event) => {
      deltas += event.delta;
    });
    const final = await stream.finalResponse();
    expect(messageText(final)).toBe(plain.output_text);
    expect(deltas).toBe(plain.output_text);
    expect(final.usage?.total_tokens).toBe(plain.usage?.total_tokens);
  });

  it("ends a stream cut by max_output_tokens with response.incomplete", async () => {
    const stream = await client.responses.create({
      model: "single/test-model",
      input: question,
      max_output_tokens: 2,
      stream: true,
    });
    const types: string[] = [];
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) {
      types.push(event.type);
      last = event;
    }
    expect(types).not.toContain("response.completed");
    expect(last?.type).toBe("response.incomplete");
    if (last?.type !== "response.incomplete") throw new Error("no response.incomplete");
    expect(last.response.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });
  it("tells a client whose stream has begun that the request failed: error, then response.failed", async () => {
    const down = await startOpenAITestServer({ faults: () => ({ kind: "status", status: 500 }) });
    const server = await startProxy({ upstreams: [down.url], pool: { maxAttempts: 1 } });
    try {
      const failing = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const stream = await failing.responses.create({ model: "test-model", input: question, stream: true });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(events.map((e) => e.type)).toEqual([
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
      ]);
      const failed = events.at(-1)!;
      if (failed.type !== "response.failed") throw new Error("no response.failed");
      expect(failed.response.status).toBe("failed");
      expect(failed.response.error?.code).toBe("upstream_unavailable");
    } finally {
      await server.close();
      await down.close();
    }
  });
});

describe("reasoning models", () => {
  const thinking = "First guess: \\boxed{7}. Check again.";

  it("returns the chosen sample's thinking as a reasoning item before the message", async () => {
    const thinkingClient = new OpenAI({
      baseURL: `${thinkingProxy.url}/v1`,
      apiKey: "unused",
      maxRetries: 0,
    });
    const response = await thinkingClient.responses.create({
      model: "self-consistency-4/test-model",
      input: "What is 2+3?",
    });
    expect(response.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(response.output[0]).toMatchObject({
      type: "reasoning",
      summary: [],
      content: [{ type: "reasoning_text", text: thinking }],
    });
    expect(response.output_text).toBe("The answer is \\boxed{5}.");
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  it("streams the thinking as reasoning_text deltas, and the SDK folds both items", async () => {
    const thinkingClient = new OpenAI({
      baseURL: `${thinkingProxy.url}/v1`,
      apiKey: "unused",
      maxRetries: 0,
    });
    const stream = thinkingClient.responses.stream({ model: "single/test-model", input: "What is 2+3?" });
    let reasoning = "";
    stream.on("response.reasoning_text.delta", (event) => {
      reasoning += event.delta;
    });
    const final = await stream.finalResponse();
    expect(reasoning).toBe(thinking);
    expect(final.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(messageText(final)).toBe("The answer is \\boxed{5}.");
  });
});

describe("what is refused", () => {
  it("answers a wrong key with a 401 the SDK raises as AuthenticationError", async () => {
    const wrong = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "sk-wrong-key-0000", maxRetries: 0 });
    const error = await wrong.responses.create({ model: "test-model", input: question }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_api_key");
  });

  it.each<[string, Record<string, unknown>]>([
    ["tools", { tools: [{ type: "function", name: "f", parameters: {} }] }],
    ["previous_response_id", { previous_response_id: "resp_123" }],
    ["store", { store: true }],
    ["text.format", { text: { format: { type: "json_object" } } }],
    ["reasoning.effort", { reasoning: { effort: "high" } }],
    [
      "input[0].content[0].type",
      { input: [{ role: "user", content: [{ type: "input_image", image_url: "x" }] }] },
    ],
    ["input[0].type", { input: [{ type: "function_call_output", call_id: "c", output: "1" }] }],
    ["max_output_tokens", { max_output_tokens: 1_000_000 }],
  ])("refuses %s with a 400 naming it, before anything is drawn", async (param, fields) => {
    const before = upstream.requests.length;
    const error = await client.responses
      .create({
        model: "test-model",
        input: question,
        ...fields,
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe(param);
    expect(error.message).toContain(param);
    expect(upstream.requests.length).toBe(before);
  });

  it("counts the route's requests, streamed or not, under its own label", async () => {
    const count = async (status: number) => {
      const page = await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      const found = new RegExp(
        `reckon_http_requests_total\\{route="/v1/responses",status="${status}"\\} (\\d+)`,
      ).exec(await page.text());
      return Number(found?.[1] ?? 0);
    };
    const [ok, refused] = [await count(200), await count(400)];
    await client.responses.create({ model: "test-model", input: question });
    for await (const _ of await client.responses.create({
      model: "test-model",
      input: question,
      stream: true,
    }));
    await client.responses.create({ model: "test-model", input: [] }).catch(() => undefined);
    expect(await count(200)).toBe(ok + 2);
    expect(await count(400)).toBe(refused + 1);
  });
});
