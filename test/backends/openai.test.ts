import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createOpenAIBackend, type OpenAIBackendOptions } from "../../src/backends/openai.js";
import type { RetryEvent } from "../../src/backends/openai-http.js";
import type { GenerateRequest } from "../../src/core/backend.js";
import { wrapBackend } from "../../src/core/backend.js";
import { AbortedError, BackendError, InvalidInputError } from "../../src/core/errors.js";
import { Meter } from "../../src/core/meter.js";
import { meteringMiddleware } from "../../src/core/metering.js";
import { sampleSeed } from "../../src/core/random.js";
import {
  type OpenAITestServer,
  type OpenAITestServerOptions,
  startOpenAITestServer,
} from "../support/openai-test-server.js";

const servers: OpenAITestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: OpenAITestServerOptions = {}): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer(options);
  servers.push(server);
  return server;
}

/** Fast retries so fault tests finish quickly; no env so no stray API key. */
function backendFor(server: OpenAITestServer, options: Partial<OpenAIBackendOptions> = {}) {
  return createOpenAIBackend(
    {
      baseURL: server.url,
      model: "test-model",
      maxRetries: 2,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 50,
      timeoutMs: 5_000,
      ...options,
    },
    {},
  );
}

const ask = (extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: "What is 2+2?",
  n: 1,
  ...extra,
});

/** Resolves once the server has received `count` completion requests. */
async function receivedRequests(server: OpenAITestServer, count: number): Promise<void> {
  while (server.requests.length < count) await new Promise((r) => setTimeout(r, 5));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("openai backend: requests and responses", () => {
  it("sends a string prompt as one user message in chat mode and maps sampling options", async () => {
    const server = await serve({ respond: () => "four\n\nfive" });
    const backend = backendFor(server);
    const response = await backend.generate(
      ask({ temperature: 0.7, topP: 0.9, topK: 20, maxTokens: 64, stop: ["\n\n"], seed: 3 }),
    );
    // This server names no stop string: the stop is found here, so it is told from the end of text.
    expect(response.completions.map((c) => c.text)).toEqual(["four"]);
    expect(response.completions[0]!.finishReason).toBe("stop-sequence");
    expect(response.completions[0]!.stopSequence).toBe("\n\n");
    const body = server.requests[0]!.body;
    expect(server.requests[0]!.path).toBe("/v1/chat/completions");
    expect(body).toMatchObject({
      model: "test-model",
      messages: [{ role: "user", content: "What is 2+2?" }],
      temperature: 0.7,
      top_p: 0.9,
      top_k: 20,
      max_tokens: 64,
      seed: 3,
      stream: true,
    });
    expect(body.stop).toBeUndefined();
    expect(body.n).toBeUndefined();
    expect(body.logprobs).toBeUndefined();
    expect(backend.id).toBe("openai:test-model");
    expect(backend.capabilities).toEqual({
      multipleSamples: true,
      logprobs: true,
      continuation: true,
      promptScoring: false,
      chat: true,
      streaming: true,
      stopSequences: true,
      modelChoice: true,
    });
    // A request may name another model of the same server.
    await backend.generate(ask({ model: "other-model" }));
    expect(server.requests[1]!.body.model).toBe("other-model");
  });

  it("sends stop strings to a server once it has shown that it names the one that ended a choice", async () => {
    // This server answers as vLLM does: every choice carries `stop_reason`.
    const server = await serve({ respond: () => "12*3=36\n5+36=41\nA: 41" });
    const backend = backendFor(server, { mode: "completion" });
    const first = await backend.generate(ask({ stop: ["\n"], n: 2 }));
    const second = await backend.generate(ask({ stop: ["\n"], n: 2 }));
    for (const response of [first, second])
      expect(response.completions.map((c) => [c.text, c.finishReason, c.stopSequence])).toEqual([
        ["12*3=36", "stop-sequence", "\n"],
        ["12*3=36", "stop-sequence", "\n"],
      ]);
    // Before it knew, each sample went alone without the stop string; after, one request with n.
    expect(server.requests.slice(0, 2).map((r) => [r.body.stop, r.body.n])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(server.requests.slice(2).map((r) => [r.body.stop, r.body.n])).toEqual([[["\n"], 2]]);
  });

  it("uses /completions in completion mode and appends the continuation to the prompt", async () => {
    const server = await serve({ respond: (req) => ` after[${req.prompt}]` });
    const backend = backendFor(server, { mode: "completion" });
    const response = await backend.generate(ask({ prompt: "Q: 2+2?\nA:", continuation: " Let me think." }));
    expect(server.requests[0]!.path).toBe("/v1/completions");
    expect(server.requests[0]!.body.prompt).toBe("Q: 2+2?\nA: Let me think.");
    expect(response.completions[0]!.text).toBe(" after[Q: 2+2?\nA: Let me think.]");
    expect(backend.capabilities.chat).toBe(false);
    await expect(backend.generate(ask({ prompt: [{ role: "user", content: "hi" }] }))).rejects.toThrow(
      InvalidInputError,
    );
  });

  it("sends a chat continuation as a trailing assistant message (vLLM flags when asked)", async () => {
    const server = await serve({ respond: () => " 4." });
    const plain = backendFor(server);
    await plain.generate(
      ask({
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "2+2?" },
        ],
        continuation: "The answer is",
      }),
    );
    expect(server.requests[0]!.body.messages.at(-1)).toEqual({ role: "assistant", content: "The answer is" });
    expect(server.requests[0]!.body.continue_final_message).toBeUndefined();

    const vllm = backendFor(server, { chatPrefill: "vllm" });
    await vllm.generate(ask({ continuation: "The answer is" }));
    expect(server.requests[1]!.body).toMatchObject({
      continue_final_message: true,
      add_generation_prompt: false,
    });

    const hosted = backendFor(server, { chatPrefill: "unsupported" });
    expect(hosted.capabilities.continuation).toBe(false);
    await expect(hosted.generate(ask({ continuation: "The answer is" }))).rejects.toThrow(/continuation/);
    expect(server.requests).toHaveLength(2);
  });

  it("reports finish reason length when max_tokens cuts the answer", async () => {
    const server = await serve({ respond: () => "one two three four five" });
    const response = await backendFor(server).generate(ask({ maxTokens: 2 }));
    expect(response.completions[0]).toMatchObject({ text: "one two ", finishReason: "length", tokens: 2 });
  });

  it("sends the API key as a bearer token, from the option or OPENAI_API_KEY", async () => {
    const server = await serve({ apiKey: "sk-right" });
    await backendFor(server, { apiKey: "sk-right" }).generate(ask());
    const fromEnv = createOpenAIBackend(
      { baseURL: server.url, model: "test-model" },
      { OPENAI_API_KEY: "sk-right" },
    );
    await fromEnv.generate(ask());
    expect(server.requests.map((r) => r.authorization)).toEqual(["Bearer sk-right", "Bearer sk-right"]);
  });

  it("rejects invalid options naming the field", () => {
    expect(() => createOpenAIBackend({ baseURL: "not a url", model: "m" }, {})).toThrow(/baseURL/);
    expect(() =>
      createOpenAIBackend({ baseURL: "http://127.0.0.1:1/v1", model: "m", concurrency: 0 }, {}),
    ).toThrow(/concurrency/);
  });
});

describe("openai backend: n samples", () => {
  it("asks for n samples in one request when the server honours n", async () => {
    const server = await serve();
    const backend = backendFor(server);
    const response = await backend.generate(ask({ n: 4, seed: 1 }));
    expect(response.completions).toHaveLength(4);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body.n).toBe(4);
    expect(response.usage.calls).toBe(1);
    expect(new Set(response.completions.map((c) => c.text)).size).toBeGreaterThan(1);
  });

  it("falls back to parallel single requests when the server ignores n, and remembers it", async () => {
    const server = await serve({ ignoreN: true });
    const backend = backendFor(server);
    const first = await backend.generate(ask({ n: 4, seed: 11 }));
    expect(first.completions).toHaveLength(4);
    expect(server.requests).toHaveLength(4);
    expect(server.requests[0]!.body.n).toBe(4);
    expect(server.requests.slice(1).map((r) => r.body.n)).toEqual([undefined, undefined, undefined]);
    expect(first.usage.calls).toBe(4);
    // distinct, reproducible seeds: sample 0 keeps the seed given
    const seeds = server.requests.map((r) => r.body.seed);
    expect(seeds).toEqual([0, 1, 2, 3].map((i) => sampleSeed(11, i)));
    expect(new Set(seeds).size).toBe(4);

    const second = await backend.generate(ask({ n: 3, seed: 11 }));
    expect(server.requests).toHaveLength(7);
    expect(server.requests.slice(4).map((r) => r.body.n)).toEqual([undefined, undefined, undefined]);
    expect(second.completions.map((c) => c.text)).toEqual(first.completions.slice(0, 3).map((c) => c.text));
  });

  it("falls back to single requests when the server rejects n (llama.cpp server)", async () => {
    const server = await serve({ rejectN: true });
    const backend = backendFor(server);
    const first = await backend.generate(ask({ n: 3, seed: 5 }));
    expect(first.completions).toHaveLength(3);
    expect(server.requests.map((r) => r.body.n)).toEqual([3, undefined, undefined, undefined]);
    expect(server.requests.slice(1).map((r) => r.body.seed)).toEqual([0, 1, 2].map((i) => sampleSeed(5, i)));
    const second = await backend.generate(ask({ n: 3, seed: 5 }));
    expect(server.requests).toHaveLength(7);
    expect(second.completions.map((c) => c.text)).toEqual(first.completions.map((c) => c.text));
  });

  it("goes straight to single requests when told the server ignores n", async () => {
    const server = await serve({ ignoreN: true });
    const response = await backendFor(server, { nParameter: "ignored" }).generate(ask({ n: 3 }));
    expect(response.completions).toHaveLength(3);
    expect(server.requests.map((r) => r.body.n)).toEqual([undefined, undefined, undefined]);
  });

  it("gives the same samples for the same seed and different ones for another seed", async () => {
    for (const ignoreN of [false, true]) {
      const server = await serve({ ignoreN });
      const texts = async (seed: number) =>
        (await backendFor(server).generate(ask({ n: 5, seed }))).completions.map((c) => c.text);
      const a = await texts(42);
      expect(await texts(42)).toEqual(a);
      expect(await texts(43)).not.toEqual(a);
      expect(new Set(a).size).toBeGreaterThan(1);
    }
  });
});

describe("openai backend: logprobs and usage", () => {
  it("maps chat logprobs with top alternatives", async () => {
    const server = await serve({ respond: () => "two plus two" });
    const response = await backendFor(server).generate(ask({ logprobs: true, topLogprobs: 2 }));
    expect(server.requests[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const logprobs = response.completions[0]!.logprobs!;
    expect(logprobs.map((t) => t.token)).toEqual(["two ", "plus ", "two"]);
    expect(logprobs[1]).toEqual({
      token: "plus ",
      logprob: -0.2,
      top: [
        { token: "plus ", logprob: -0.2 },
        { token: "alt1", logprob: -1.2 },
      ],
    });
    expect(response.completions[0]!.tokens).toBe(3);
  });

  it("maps legacy completion logprobs", async () => {
    const server = await serve({ respond: () => "a b" });
    const backend = backendFor(server, { mode: "completion" });
    const response = await backend.generate(ask({ logprobs: true, topLogprobs: 2 }));
    expect(server.requests[0]!.body.logprobs).toBe(2);
    expect(response.completions[0]!.logprobs).toEqual([
      {
        token: "a ",
        logprob: -0.1,
        top: [
          { token: "a ", logprob: -0.1 },
          { token: "alt1", logprob: -1.1 },
        ],
      },
      {
        token: "b",
        logprob: -0.2,
        top: [
          { token: "b", logprob: -0.2 },
          { token: "alt1", logprob: -1.2 },
        ],
      },
    ]);
    const withoutTop = await backend.generate(ask({ logprobs: true }));
    // At least one alternative is asked for: llama.cpp's server reads 0 as no logprobs at all.
    expect(server.requests[1]!.body.logprobs).toBe(1);
    expect(withoutTop.completions[0]!.logprobs!.every((t) => t.top === undefined)).toBe(true);
  });

  it("takes usage from the response when present", async () => {
    const server = await serve({ respond: (_, i) => (i === 0 ? "one" : "one two three") });
    const response = await backendFor(server).generate(ask({ n: 2, seed: 1 }));
    expect(response.usage).toMatchObject({
      promptTokens: 3,
      completionTokens: 4,
      calls: 1,
      estimated: false,
    });
    expect(response.completions.map((c) => c.tokens).reduce((a, b) => a + b)).toBe(4);
    expect(response.usage.latencyMs).toBeGreaterThan(0);
  });

  it("estimates usage at four characters a token when the server reports none", async () => {
    const server = await serve({ omitUsage: true, respond: () => "twelve chars" });
    const response = await backendFor(server).generate(ask({ n: 2 }));
    expect(response.usage).toMatchObject({
      promptTokens: Math.ceil("What is 2+2?".length / 4),
      completionTokens: 6,
      calls: 1,
      estimated: true,
    });
    expect(response.completions.map((c) => c.tokens)).toEqual([3, 3]);
  });
});

describe("openai backend: faults and retries", () => {
  it("retries a 429 and honours its Retry-After seconds", async () => {
    const server = await serve({ faults: { 1: { kind: "status", status: 429, retryAfter: "1" } } });
    const retries: RetryEvent[] = [];
    const backend = backendFor(server, { retryMaxDelayMs: 10_000, onRetry: (e) => retries.push(e) });
    const response = await backend.generate(ask());
    expect(response.completions).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
    expect(retries).toEqual([expect.objectContaining({ retry: 1, status: 429, delayMs: 1000 })]);
  });

  it("honours a Retry-After HTTP date", async () => {
    const date = new Date(Date.now() + 2000).toUTCString();
    const server = await serve({ faults: { 1: { kind: "status", status: 503, retryAfter: date } } });
    const retries: RetryEvent[] = [];
    await backendFor(server, { retryMaxDelayMs: 10_000, onRetry: (e) => retries.push(e) }).generate(ask());
    expect(retries[0]!.delayMs).toBeGreaterThan(0);
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(2000);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    ["HTTP 500", { kind: "status", status: 500 }],
    ["HTTP 503", { kind: "status", status: 503 }],
    ["a connection reset", { kind: "reset" }],
    ["malformed JSON", { kind: "malformed-json" }],
    ["a response slower than the timeout", { kind: "slow", delayMs: 30_000 }],
  ] as const)("retries after %s and then succeeds", async (_, fault) => {
    const server = await serve({ faults: { 1: fault, 2: fault } });
    // slow enough to time out, yet the final attempt has ample time on a busy machine
    const response = await backendFor(server, { timeoutMs: 1_500 }).generate(ask());
    expect(response.completions).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
  });

  it.each([
    ["HTTP 503", { kind: "status", status: 503 }, /HTTP 503.*gave up after 3 attempts/, 503],
    ["HTTP 429", { kind: "status", status: 429 }, /HTTP 429[\s\S]*lower concurrency/, 429],
    ["connection resets", { kind: "reset" }, /could not reach[\s\S]*is the server running/, undefined],
    ["malformed JSON", { kind: "malformed-json" }, /malformed JSON.*gave up after 3/, 200],
    [
      "timeouts",
      { kind: "slow", delayMs: 30_000 },
      /did not answer within 200 ms[\s\S]*timeoutMs/,
      undefined,
    ],
  ] as const)("gives up after maxRetries on persistent %s", async (_, fault, message, status) => {
    const server = await serve({ faults: () => fault });
    const timeoutMs = fault.kind === "slow" ? 200 : 10_000;
    const error = await rejection(backendFor(server, { timeoutMs }).generate(ask()));
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toMatch(message);
    expect((error as BackendError).status).toBe(status);
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 400 and passes on the server's message", async () => {
    const server = await serve({
      faults: { 1: { kind: "status", status: 400, message: "top_k must be >= 0" } },
    });
    const error = (await rejection(backendFor(server).generate(ask()))) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/top_k must be >= 0/);
    expect(error.hint).toMatch(/sampling options/);
    expect(server.requests).toHaveLength(1);
  });

  it("explains a bad API key", async () => {
    const server = await serve({ apiKey: "sk-right" });
    const error = (await rejection(
      backendFor(server, { apiKey: "sk-wrong" }).generate(ask()),
    )) as BackendError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/OPENAI_API_KEY/);
  });

  it("explains an unknown model", async () => {
    const server = await serve({ models: ["qwen2.5-0.5b"] });
    const error = (await rejection(backendFor(server, { model: "gpt-5" }).generate(ask()))) as BackendError;
    expect(error.status).toBe(404);
    expect(error.hint).toMatch(/does not know model "gpt-5".*\/v1\/models/);
    expect(server.requests).toHaveLength(1);
  });

  it("explains a wrong base URL (404 route, HTML page) without retrying", async () => {
    const server = await serve({ faults: { 1: { kind: "wrong-content-type" } } });
    const retries: RetryEvent[] = [];
    const onRetry = (event: RetryEvent) => retries.push(event);
    const noV1 = server.url.replace(/\/v1$/, "");
    const missing = (await rejection(
      backendFor(server, { baseURL: noV1, onRetry }).generate(ask()),
    )) as BackendError;
    expect(missing.status).toBe(404);
    expect(missing.hint).toMatch(/baseURL/);
    const html = (await rejection(backendFor(server, { onRetry }).generate(ask()))) as BackendError;
    expect(html.message).toMatch(/text\/html, not JSON/);
    expect(html.hint).toMatch(/\/v1/);
    expect(retries).toEqual([]);
  });

  it("says the server may not be running when nothing listens", async () => {
    const server = await serve();
    await server.close();
    const error = (await rejection(backendFor(server).generate(ask()))) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.hint).toMatch(new RegExp(`is the server running at ${server.url}`));
  });

  it("rejects a JSON answer of the wrong shape naming the field, and a 200 carrying an error", async () => {
    const server = await serve({
      faults: {
        1: { kind: "json", body: { object: "list", data: [] } },
        2: { kind: "json", body: { error: { message: "out of memory" } } },
      },
    });
    const backend = backendFor(server);
    const shape = (await rejection(backend.generate(ask()))) as BackendError;
    expect(shape).toBeInstanceOf(BackendError);
    expect(shape.message).toMatch(/unexpected shape: field choices/);
    const reported = (await rejection(backend.generate(ask()))) as BackendError;
    expect(reported.message).toMatch(/reported an error: out of memory/);
    expect(server.requests).toHaveLength(2);
  });
});

describe("openai backend: abort, timeouts, concurrency", () => {
  it("rejects at once with AbortedError when aborted before the call", async () => {
    const server = await serve();
    await expect(backendFor(server).generate(ask({ signal: AbortSignal.abort() }))).rejects.toThrow(
      AbortedError,
    );
    expect(server.requests).toHaveLength(0);
  });

  it("cancels an in-flight request on abort", { timeout: 10_000 }, async () => {
    const server = await serve({ faults: () => ({ kind: "slow", delayMs: 60_000 }) });
    const controller = new AbortController();
    const pending = backendFor(server, { timeoutMs: 120_000 }).generate(
      ask({ n: 3, signal: controller.signal }),
    );
    await receivedRequests(server, 1);
    controller.abort();
    await expect(pending).rejects.toThrow(AbortedError);
    expect(server.requests).toHaveLength(1);
  });

  it("cancels the parallel single requests of an n fallback on abort", { timeout: 10_000 }, async () => {
    const server = await serve({
      ignoreN: true,
      faults: (n) => (n > 1 ? { kind: "slow", delayMs: 60_000 } : undefined),
    });
    const controller = new AbortController();
    const pending = backendFor(server, { timeoutMs: 120_000 }).generate(
      ask({ n: 4, signal: controller.signal }),
    );
    await receivedRequests(server, 4);
    controller.abort();
    await expect(pending).rejects.toThrow(AbortedError);
  });

  it("on abort returns the samples already finished and meters the requests cut off", {
    timeout: 10_000,
  }, async () => {
    const server = await serve({
      ignoreN: true,
      faults: (n) => (n > 2 ? { kind: "slow", delayMs: 60_000 } : undefined),
    });
    const meter = new Meter();
    const backend = wrapBackend(backendFor(server, { nParameter: "ignored", timeoutMs: 120_000 }), [
      meteringMiddleware({ meter }),
    ]);
    const controller = new AbortController();
    const arrived: number[] = [];
    const pending = backend.generate(
      ask({
        n: 4,
        signal: controller.signal,
        onSample: (_completion, index) => {
          arrived.push(index);
          if (arrived.length === 2) controller.abort();
        },
      }),
    );
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(AbortedError);
    const partial = (error as AbortedError).partial!;
    expect(partial.completions).toHaveLength(2);
    expect(arrived.sort()).toEqual([0, 1]);
    // Four requests went out: two answered, two cut off that still cost their prompt.
    expect(partial.usage.calls).toBe(4);
    expect(partial.usage.estimated).toBe(true);
    expect(meter.usage.calls).toBe(4);
    expect(meter.usage.completionTokens).toBe(partial.completions.reduce((sum, c) => sum + c.tokens, 0));
    expect(meter.usage.promptTokens).toBeGreaterThan(partial.usage.promptTokens / 2);
  });

  it("cancels a backoff sleep on abort", { timeout: 10_000 }, async () => {
    const server = await serve({ faults: () => ({ kind: "status", status: 503, retryAfter: "600" }) });
    const controller = new AbortController();
    const backend = backendFor(server, { retryMaxDelayMs: 600_000, onRetry: () => controller.abort() });
    await expect(backend.generate(ask({ signal: controller.signal }))).rejects.toThrow(AbortedError);
    expect(server.requests).toHaveLength(1);
  });

  it("close() cancels in-flight requests and refuses new ones", { timeout: 10_000 }, async () => {
    const server = await serve({ faults: () => ({ kind: "slow", delayMs: 60_000 }) });
    const backend = backendFor(server, { timeoutMs: 120_000 });
    const pending = backend.generate(ask());
    await receivedRequests(server, 1);
    await backend.close!();
    await expect(pending).rejects.toThrow(AbortedError);
    await expect(backend.generate(ask())).rejects.toThrow(/closed/);
  });

  it("close() also cuts off calls that carry their own signal, and calls waiting for a slot", {
    timeout: 10_000,
  }, async () => {
    const server = await serve({ faults: () => ({ kind: "slow", delayMs: 60_000 }) });
    const backend = backendFor(server, { timeoutMs: 120_000, concurrency: 1 });
    const caller = new AbortController();
    const running = backend.generate(ask({ signal: caller.signal }));
    const queued = backend.generate(ask({ signal: caller.signal }));
    await receivedRequests(server, 1);
    await backend.close!();
    await expect(running).rejects.toThrow(AbortedError);
    await expect(queued).rejects.toThrow(AbortedError);
    // The queued call never reached the server, and the caller's own signal was never aborted.
    expect(server.requests).toHaveLength(1);
    expect(caller.signal.aborted).toBe(false);
  });

  it("keeps at most `concurrency` requests in flight across calls", async () => {
    const limited = await serve({ ignoreN: true, latencyMs: 40 });
    const backend = backendFor(limited, { concurrency: 2, nParameter: "ignored" });
    const results = await Promise.all([backend.generate(ask({ n: 4 })), backend.generate(ask({ n: 4 }))]);
    expect(results.flatMap((r) => r.completions)).toHaveLength(8);
    expect(limited.requests).toHaveLength(8);
    expect(limited.maxInFlight).toBe(2);

    // the same load without a tight limit does overlap more, so the bound above is real
    const open = await serve({ ignoreN: true, latencyMs: 40 });
    await backendFor(open, { concurrency: 8, nParameter: "ignored" }).generate(ask({ n: 8 }));
    expect(open.maxInFlight).toBeGreaterThan(2);
  });

  it("starts the timeout only once a request leaves the queue", async () => {
    const server = await serve({ latencyMs: 300 });
    const backend = backendFor(server, { concurrency: 1, timeoutMs: 2_000, maxRetries: 0 });
    // eight calls queued behind one slot take ~2.4 s in total, longer than one timeout
    const results = await Promise.all(Array.from({ length: 8 }, () => backend.generate(ask())));
    expect(results).toHaveLength(8);
    expect(server.requests).toHaveLength(8);
    expect(server.maxInFlight).toBe(1);
  });
});

describe("openai backend: event streams", () => {
  /**
   * A server that streams `pieces` as chat chunks and then keeps the stream open without
   * ending it, as a server still generating does; resolves `closed` when the client hangs up.
   */
  async function endlessStream(pieces: string[]) {
    let hungUp!: () => void;
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const content of pieces)
          res.write(
            `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`,
          );
        res.on("close", hungUp);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return { url, closed, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it("reads events however the bytes are cut: mid-line, mid-character, CRLF lines, comments", async () => {
    const pieces = ["Größe ", "≈ 4 ", "😀 done"];
    const events = [
      ": a comment\r\n\r\n",
      ...pieces.map(
        (content) =>
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\r\n\r\n`,
      ),
      `data:${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } })}\n\n`,
      "data: [DONE]\n\n",
    ];
    const bytes = Buffer.from(events.join(""));
    // Cut every 7 bytes: through lines, and through the multi-byte characters.
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on("end", async () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let at = 0; at < bytes.length; at += 7) {
          res.write(bytes.subarray(at, at + 7));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const backend = createOpenAIBackend({ baseURL: url, model: "test-model", maxRetries: 0 }, {});
      const streamed: string[] = [];
      const response = await backend.generate(ask({ onToken: (event) => streamed.push(event.text) }));
      expect(streamed.join("")).toBe(pieces.join(""));
      expect(response.completions[0]).toMatchObject({ text: pieces.join(""), finishReason: "eos" });
      expect(response.usage).toMatchObject({ promptTokens: 2, completionTokens: 3 });
      await backend.close?.();
    } finally {
      // The backend keeps its connection alive for the next request.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("answers once its stop string has streamed, and hangs up so that the server stops generating", async () => {
    const server = await endlessStream(["The answer ", "is 4. STOP and more", " text"]);
    try {
      const backend = createOpenAIBackend(
        { baseURL: server.url, model: "test-model", maxRetries: 0, timeoutMs: 5_000 },
        {},
      );
      const pieces: string[] = [];
      const response = await backend.generate(
        ask({ stop: ["STOP"], onToken: (event) => pieces.push(event.text) }),
      );
      expect(response.completions[0]).toMatchObject({
        text: "The answer is 4. ",
        finishReason: "stop-sequence",
        stopSequence: "STOP",
      });
      expect(pieces.join("")).toBe("The answer is 4. ");
      await server.closed;
      await backend.close?.();
    } finally {
      await server.close();
    }
  });
});
