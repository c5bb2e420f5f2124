/**
 * The unmodified `openai` client against `reckon serve` in front of a loopback upstream:
 * answers, streaming, usage and the `reckon` field, checked against the library's own run().
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { run } from "../../src/run.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { type RunningProxy, startProxy } from "./helpers.js";

const question = "Q: 12*7+45-9*3+16=?\n";
const dataset = { levels: [4], perLevel: 1, seed: 0 };
let upstream: OpenAITestServer;
let proxy: RunningProxy;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAITestServer({
    respond: (request, index) => {
      const known = arithmeticResponder(dataset)(request, index);
      if (known !== "unknown problem") return known;
      // Any other arithmetic question: right two times in three, seeded.
      const seed = request.seed ?? 0;
      return (seed + index) % 3 === 2 ? "A: 7" : "12*7=84\nA: 118";
    },
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic" });
  client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the reckon field is an extension OpenAI's types do not know
const reckonOf = (value: unknown): any => (value as { reckon: unknown }).reckon;

describe("non-streaming", () => {
  it("answers a chat request with the majority of 8 samples, as the library does", async () => {
    const before = upstream.requests.length;
    const response = await client.chat.completions.create({
      model: "self-consistency-8/test-model",
      messages: [{ role: "user", content: question }],
      seed: 3,
      temperature: 1,
    });
    const reckon = reckonOf(response);
    expect(response.object).toBe("chat.completion");
    expect(response.model).toBe("self-consistency-8/test-model");
    expect(response.choices).toHaveLength(1);
    expect(response.choices[0]!.finish_reason).toBe("stop");
    expect(reckon.strategy).toBe("self-consistency");
    expect(reckon.candidates).toHaveLength(8);
    expect(reckon.tally.reduce((sum: number, t: { count: number }) => sum + t.count, 0)).toBe(8);
    expect(reckon.answer).toBe("118");
    expect(arithmeticTask.extractAnswer(response.choices[0]!.message.content!)).toBe("118");
    expect(reckon.stop_reason).toBe("completed");

    // The upstream saw one request for 8 samples; usage adds up what it reported.
    const sent = upstream.requests.slice(before);
    expect(sent.map((r) => r.body.n)).toEqual([8]);
    expect(sent[0]!.body.model).toBe("test-model");

    const direct = await run({
      problem: { id: "direct", prompt: [{ role: "user", content: question }], task: arithmeticTask },
      backend: createOpenAIBackend({ baseURL: upstream.url, model: "test-model" }),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling: { seed: 3, temperature: 1 },
    });
    expect(reckon.tally).toEqual(direct.tally);
    expect(response.usage?.prompt_tokens).toBe(direct.usage.promptTokens);
    expect(response.usage?.completion_tokens).toBe(direct.usage.completionTokens);
    expect(response.usage?.total_tokens).toBe(direct.usage.promptTokens + direct.usage.completionTokens);
  });

  it("takes the strategy from a `reckon` object in the body, over the model prefix", async () => {
    const response = await client.chat.completions.create({
      model: "single/test-model",
      messages: [{ role: "user", content: question }],
      seed: 1,
      // @ts-expect-error reckon's extension of the request body
      reckon: { strategy: "self-consistency", n: 3 },
    });
    const reckon = reckonOf(response);
    expect(reckon.strategy).toBe("self-consistency");
    expect(reckon.options).toEqual({ n: 3 });
    expect(reckon.candidates).toHaveLength(3);
    expect(reckon.budget.spent_tokens).toBe(response.usage!.total_tokens);
  });

  it("uses the server's default strategy for a plain model name", async () => {
    const response = await client.chat.completions.create({
      model: "test-model",
      messages: [{ role: "user", content: question }],
    });
    expect(reckonOf(response).strategy).toBe("single");
    expect(reckonOf(response).candidates).toHaveLength(1);
  });

  it("answers the completions endpoint with the prompt as plain text", async () => {
    const before = upstream.requests.length;
    const response = await client.completions.create({
      model: "self-consistency-4/test-model",
      prompt: question,
      seed: 5,
      max_tokens: 64,
    });
    expect(response.object).toBe("text_completion");
    expect(arithmeticTask.extractAnswer(response.choices[0]!.text)).toBe(reckonOf(response).answer);
    const sent = upstream.requests.slice(before);
    expect(sent[0]!.path).toBe("/v1/completions");
    expect(sent[0]!.body.prompt).toBe(question);
    expect(sent[0]!.body.max_tokens).toBe(64);
  });

  it("lists the upstream's models with an alias for each strategy that can answer without a verifier", async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toContain("test-model");
    expect(ids).toContain("self-consistency/test-model");
    // No default verifier here: best-of-n would fail every request named this way.
    expect(ids).not.toContain("best-of-n/test-model");
  });
});

describe("streaming", () => {
  it("streams the same answer as the non-streaming call, then usage, through the openai client", async () => {
    const request = {
      model: "self-consistency-6/test-model",
      messages: [{ role: "user" as const, content: question }],
      seed: 11,
    };
    const plain = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    let reckon: unknown;
    for await (const part of stream) {
      for (const choice of part.choices) {
        content += choice.delta.content ?? "";
        finishes.push(choice.finish_reason);
      }
      if (part.usage) usage = part.usage;
      if (reckonOf(part)) reckon = reckonOf(part);
    }
    expect(content).toBe(plain.choices[0]!.message.content);
    expect(finishes.at(-1)).toBe("stop");
    expect(usage?.total_tokens).toBe(plain.usage!.total_tokens);
    expect((reckon as { tally: unknown }).tally).toEqual(reckonOf(plain).tally);
  });

  it("streams the same events through app.fetch, without a Node server, as over HTTP", async () => {
    // Served by Node, events go straight to its response; through app.fetch, into a web stream.
    const request = {
      model: "self-consistency-3/test-model",
      messages: [{ role: "user" as const, content: question }],
      seed: 5,
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const overFetch = new OpenAI({
      baseURL: "http://in-process/v1",
      apiKey: "unused",
      maxRetries: 0,
      fetch: async (url, init) => proxy.server.app.fetch(new Request(url, init)),
    });
    const collect = async (from: OpenAI) => {
      const parts: unknown[] = [];
      // Ids, times and measured latencies differ from one request to the next.
      const same = (key: string, value: unknown) =>
        ["id", "created", "latencyMs", "latency_ms"].includes(key) ? 0 : value;
      for await (const part of await from.chat.completions.create(request))
        parts.push(JSON.parse(JSON.stringify(part, same)));
      return parts;
    };
    const [http, inProcess] = [await collect(client), await collect(overFetch)];
    expect(http.length).toBeGreaterThan(2);
    expect(inProcess).toEqual(http);
  });

  it("sends progress as SSE comments that carry the trace, and ends with [DONE]", async () => {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "self-consistency-4/test-model",
        messages: [{ role: "user", content: question }],
        stream: true,
        seed: 2,
        reckon: { batchSize: 1 },
      }),
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    const comments = events.filter((e) => e.startsWith(": reckon ")).map((e) => JSON.parse(e.slice(9)));
    expect(comments.filter((e) => e.kind === "sample")).toHaveLength(4);
    expect(comments.filter((e) => e.kind === "call")).toHaveLength(4);
    expect(comments.some((e) => e.kind === "voted")).toBe(true);
    // Progress comes before the answer: every comment precedes the first content chunk.
    const firstContent = events.findIndex((e) => e.startsWith("data: ") && /"content":"[^"]/.test(e));
    const lastComment = events.map((e) => e.startsWith(": reckon ")).lastIndexOf(true);
    expect(lastComment).toBeLessThan(firstContent);
    expect(events.at(-1)).toBe("data: [DONE]");
  });

  it("streams the completions endpoint too", async () => {
    const stream = await client.completions.create({
      model: "self-consistency-3/test-model",
      prompt: question,
      stream: true,
      seed: 4,
    });
    let text = "";
    for await (const part of stream) text += part.choices[0]?.text ?? "";
    expect(arithmeticTask.extractAnswer(text)).toBeDefined();
  });
});
