/** The edge: malformed and over-limit requests get OpenAI-style 4xx errors naming the field; keys and limits. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseApiKeyFile } from "../../src/server/config.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

let upstream: OpenAITestServer;
let open: RunningProxy;
const chat = (url: string) => `${url}/v1/chat/completions`;
const messages = [{ role: "user", content: "What is 2+2?" }];

beforeAll(async () => {
  upstream = await startOpenAITestServer({ respond: () => "The answer is \\boxed{4}.", latencyMs: 0 });
  open = await startProxy({
    upstreams: [upstream.url],
    limits: { maxSamples: 16, maxBudgetTokens: 5_000, maxBodyBytes: 20_000, maxTokensPerSample: 1_000 },
  });
});
afterAll(async () => {
  await open.close();
  await upstream.close();
});

describe("validation", () => {
  it.each<[string, unknown, string | null]>([
    ["malformed JSON", '{"model": "test-model", "messages": [', null],
    ["a body that is not an object", "[1, 2]", null],
    ["a missing model", { messages }, "model"],
    ["messages of the wrong type", { model: "test-model", messages: "hi" }, "messages"],
    ["an empty message list", { model: "test-model", messages: [] }, "messages"],
    [
      "a message with an unknown role",
      { model: "m", messages: [{ role: "robot", content: "x" }] },
      "messages[0].role",
    ],
    ["a temperature of the wrong type", { model: "test-model", messages, temperature: "hot" }, "temperature"],
    ["a temperature out of range", { model: "test-model", messages, temperature: 9 }, "temperature"],
    ["n other than 1", { model: "test-model", messages, n: 3 }, "n"],
    ["max_tokens over the limit", { model: "test-model", messages, max_tokens: 5_000 }, "max_tokens"],
    [
      "an unknown strategy in the body",
      { model: "test-model", messages, reckon: { strategy: "magic" } },
      "reckon.strategy",
    ],
    [
      "a sample count over the limit",
      { model: "test-model", messages, reckon: { strategy: "self-consistency", n: 17 } },
      "reckon.n",
    ],
    [
      "a sample count over the limit in the model name",
      { model: "self-consistency-99/test-model", messages },
      "model",
    ],
    [
      "a sample count of the wrong type",
      { model: "test-model", messages, reckon: { strategy: "self-consistency", n: "many" } },
      "reckon.n",
    ],
    [
      "an option the strategy does not take",
      { model: "test-model", messages, reckon: { strategy: "self-consistency", depth: 3 } },
      "reckon.depth",
    ],
    [
      "a budget over the limit",
      { model: "test-model", messages, reckon: { budget: { maxTokens: 10_000 } } },
      "reckon.budget.maxTokens",
    ],
    [
      "a strategy that needs a missing verifier",
      { model: "best-of-n-4/test-model", messages },
      "reckon.verifier",
    ],
    ["an unknown task", { model: "test-model", messages, reckon: { task: "poetry" } }, "reckon.task"],
  ])("answers %s with a 400 naming the field", async (_, body, param) => {
    const before = upstream.requests.length;
    const response = await postJson(chat(open.url), body);
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ type: "invalid_request_error", param });
    expect(typeof response.json.error.message).toBe("string");
    expect(upstream.requests.length).toBe(before);
  });

  it("refuses a body over the size limit with 413", async () => {
    const response = await postJson(chat(open.url), {
      model: "test-model",
      messages: [{ role: "user", content: "x".repeat(30_000) }],
    });
    expect(response.status).toBe(413);
    expect(response.json.error.code).toBe("request_too_large");
  });

  it("answers an unknown model with OpenAI's 404", async () => {
    const strict = await startOpenAITestServer({ models: ["test-model"] });
    const proxy = await startProxy({ upstreams: [strict.url] });
    try {
      const response = await postJson(chat(proxy.url), { model: "nope", messages });
      expect(response.status).toBe(404);
      expect(response.json.error).toMatchObject({ code: "model_not_found", param: "model" });
    } finally {
      await proxy.close();
      await strict.close();
    }
  });

  it("raises the openai client's BadRequestError and keeps serving afterwards", async () => {
    const client = new OpenAI({ baseURL: `${open.url}/v1`, apiKey: "x", maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: "self-consistency-1000/test-model", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("model");
    const ok = await client.chat.completions.create({
      model: "test-model",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(ok.choices[0]!.message.content).toContain("\\boxed{4}");
  });
});

describe("API keys and limits", () => {
  let proxy: RunningProxy;
  let slow: OpenAITestServer;

  beforeAll(async () => {
    slow = await startOpenAITestServer({
      respond: () => "one two three four five six seven eight",
      latencyMs: 300,
    });
    proxy = await startProxy({
      upstreams: [slow.url],
      apiKeys: parseApiKeyFile(
        [
          "# team keys",
          "sk-alice-0123456789 name=alice concurrency=1",
          "sk-bob-0123456789 name=bob tokens-per-minute=100",
          "sk-carol-0123456789",
        ].join("\n"),
      ),
    });
  });
  afterAll(async () => {
    await proxy.close();
    await slow.close();
  });

  const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

  it("answers a missing or wrong key with OpenAI's 401, and a right one with 200", async () => {
    const missing = await postJson(chat(proxy.url), { model: "test-model", messages });
    expect(missing.status).toBe(401);
    expect(missing.json.error.type).toBe("invalid_request_error");
    const wrong = await postJson(
      chat(proxy.url),
      { model: "test-model", messages },
      as("sk-mallory-0123456789"),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("invalid_api_key");
    expect(wrong.json.error.message).not.toContain("sk-mallory-0123456789");
    const right = await postJson(
      chat(proxy.url),
      { model: "test-model", messages },
      as("sk-carol-0123456789"),
    );
    expect(right.status).toBe(200);

    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "sk-wrong-key-000", maxRetries: 0 });
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("limits a key's requests in flight with a 429 and Retry-After", async () => {
    const results = await Promise.all(
      [1, 2].map(() =>
        postJson(chat(proxy.url), { model: "test-model", messages }, as("sk-alice-0123456789")),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429]);
    const limited = results.find((r) => r.status === 429)!;
    expect(limited.json.error.code).toBe("rate_limit_exceeded");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another key is not held back by alice's limit.
    const other = await Promise.all(
      [1, 2].map(() =>
        postJson(chat(proxy.url), { model: "test-model", messages }, as("sk-carol-0123456789")),
      ),
    );
    expect(other.map((r) => r.status)).toEqual([200, 200]);
  });

  it("reserves each request's budget from its key's window before the work, and makes the rest wait", async () => {
    // bob may spend 100 tokens a minute; a sample costs 3 prompt and 8 completion tokens, and a
    // request needs the window to hold at least its prompt's bound (44 tokens here) to start.
    const bob = as("sk-bob-0123456789");
    const ask = (reckon: Record<string, unknown>) =>
      postJson(chat(proxy.url), { model: "test-model", messages, reckon }, bob);
    const pair = await Promise.all([ask({ budget: { maxTokens: 60 } }), ask({ budget: { maxTokens: 60 } })]);
    // The first reserved 60 while it ran: the 40 left could not pay the second's prompt.
    expect(pair.map((r) => r.status).sort()).toEqual([200, 429]);
    const [served, waited] = pair[0]!.status === 200 ? pair : [pair[1]!, pair[0]!];
    expect(waited!.json.error.type).toBe("tokens");
    expect(served!.json.reckon.budget.limits.maxTokens).toBe(60);
    expect(served!.json.usage.total_tokens).toBeLessThanOrEqual(60);
    // Its unspent reservation went back: the next request may reserve all the rest.
    const next = await ask({});
    expect(next.status).toBe(200);
    expect(next.json.reckon.budget.limits.maxTokens).toBe(100 - served!.json.usage.total_tokens);
    // What was spent stays in the window for a minute: once too little is left, requests wait.
    let last = next;
    for (let i = 0; i < 5 && last.status === 200; i++)
      last = await ask({ strategy: "self-consistency", n: 4 });
    expect(last.status).toBe(429);
    expect(last.json.error.type).toBe("tokens");
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(30);
  });

  it("rejects a key file with an unknown field, naming the line", () => {
    expect(() => parseApiKeyFile("sk-good-0123456789\nsk-x-0123456789 colour=blue")).toThrow(/line 2/);
    expect(() => parseApiKeyFile("short")).toThrow(/at least 8/);
  });
});
