/**
 * reckonMiddleware under the AI SDK's own generateText / streamText / wrapLanguageModel, with a
 * small LanguageModelV3 that talks to the loopback OpenAI server over HTTP.
 */
import type { LanguageModelV3, LanguageModelV3CallOptions } from "@ai-sdk/provider";
import { generateText, streamText, wrapLanguageModel } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reckonMiddleware } from "../src/ai-sdk.js";
import type { Result } from "../src/core/types.js";
import { functionVerifier } from "../src/core/verifier.js";
import { type OpenAITestServer, startOpenAITestServer } from "./support/openai-test-server.js";

/** A minimal chat model over an OpenAI-compatible endpoint: what a provider package does. */
function loopbackModel(baseURL: string): LanguageModelV3 {
  return {
    specificationVersion: "v3",
    provider: "loopback",
    modelId: "test-model",
    supportedUrls: {},
    async doGenerate(options: LanguageModelV3CallOptions) {
      const messages = options.prompt.map((m) => ({
        role: m.role,
        content:
          typeof m.content === "string"
            ? m.content
            : m.content.map((part) => (part.type === "text" ? part.text : "")).join(""),
      }));
      const response = await fetch(`${baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "test-model",
          messages,
          temperature: options.temperature,
          max_tokens: options.maxOutputTokens,
          seed: options.seed,
        }),
        signal: options.abortSignal,
      });
      const body = (await response.json()) as {
        choices: { message: { content: string }; finish_reason: string }[];
        usage: { prompt_tokens: number; completion_tokens: number };
      };
      const choice = body.choices[0]!;
      return {
        content: [{ type: "text", text: choice.message.content }],
        finishReason: {
          unified: choice.finish_reason === "length" ? "length" : "stop",
          raw: choice.finish_reason,
        },
        usage: {
          inputTokens: {
            total: body.usage.prompt_tokens,
            noCache: undefined,
            cacheRead: undefined,
            cacheWrite: undefined,
          },
          outputTokens: { total: body.usage.completion_tokens, text: undefined, reasoning: undefined },
        },
        warnings: [],
      };
    },
    async doStream() {
      throw new Error("not used: the middleware answers streams from doGenerate");
    },
  };
}

let server: OpenAITestServer;
beforeAll(async () => {
  // Seeded: two samples in three say 42, the rest 41.
  server = await startOpenAITestServer({
    respond: (request) => `Working... the answer is \\boxed{${(request.seed ?? 0) % 3 === 0 ? 41 : 42}}.`,
  });
});
afterAll(() => server.close());

describe("reckonMiddleware", () => {
  it("turns generateText into self-consistency over the wrapped model", async () => {
    const results: Result[] = [];
    const before = server.requests.length;
    const model = wrapLanguageModel({
      model: loopbackModel(server.url),
      middleware: reckonMiddleware({
        strategy: "self-consistency",
        options: { n: 9 },
        onResult: (r) => results.push(r),
      }),
    });
    const { text, usage, providerMetadata } = await generateText({ model, prompt: "What is 6*7?", seed: 5 });
    expect(text).toContain("\\boxed{42}");
    const sent = server.requests.slice(before);
    expect(sent).toHaveLength(9);
    // Each sample has its own seed, derived from the call's seed and its index.
    expect(new Set(sent.map((r) => r.body.seed)).size).toBe(9);
    const reckon = providerMetadata?.reckon as { answer: string; tally: { answer: string; count: number }[] };
    expect(reckon.answer).toBe("42");
    expect(reckon.tally.reduce((sum, t) => sum + t.count, 0)).toBe(9);
    expect(reckon.tally).toEqual(results[0]!.tally);
    // 9 calls of 3 prompt words and 5 answer words each.
    expect(usage.inputTokens).toBe(9 * 3);
    expect(usage.outputTokens).toBe(9 * 5);
  });

  it("runs best-of-n with a verifier the app supplies", async () => {
    const model = wrapLanguageModel({
      model: loopbackModel(server.url),
      middleware: reckonMiddleware({
        strategy: "best-of-n",
        options: { n: 6 },
        verifier: functionVerifier("prefers-41", (_, c) => (c.answer === "41" ? 1 : 0)),
      }),
    });
    const { text } = await generateText({ model, prompt: "What is 6*7?", seed: 1 });
    expect(text).toContain("\\boxed{41}");
  });

  it("answers streamText with the strategy's answer as one delta", async () => {
    const model = wrapLanguageModel({
      model: loopbackModel(server.url),
      middleware: reckonMiddleware({ strategy: "self-consistency", options: { n: 5 } }),
    });
    const result = streamText({ model, prompt: "What is 6*7?", seed: 9 });
    let streamed = "";
    for await (const delta of result.textStream) streamed += delta;
    expect(streamed).toContain("\\boxed{42}");
    expect((await result.usage).outputTokens).toBe(5 * 5);
  });

  it("cancels every sample when the caller aborts", async () => {
    const slow = await startOpenAITestServer({ latencyMs: 5_000 });
    try {
      const model = wrapLanguageModel({
        model: loopbackModel(slow.url),
        middleware: reckonMiddleware({ strategy: "self-consistency", options: { n: 4 } }),
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();
      await expect(
        generateText({ model, prompt: "q", abortSignal: controller.signal, maxRetries: 0 }),
      ).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await slow.close();
    }
  });
});
