/**
 * The OpenAI backend against llama.cpp's own server (a real OpenAI-compatible server that
 * nobody here wrote) serving the bundled model: streaming, n, logprobs, stop strings, seeds,
 * cancellation and usage; then the methods that depend on them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { TokenEvent } from "../../src/core/backend.js";
import { AbortedError } from "../../src/core/errors.js";
import { run } from "../../src/run.js";
import {
  arithmeticTask,
  formatArithmeticPrompt,
  generateArithmeticProblems,
  toProblem,
} from "../../src/tasks/arithmetic.js";
import { stepCheckerVerifier } from "../../src/verifiers/step-checker.js";
import { type LlamaServer, startLlamaServer } from "../support/llama-server.js";

const prompt = formatArithmeticPrompt("12*7+45-9*3+16");
const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96 };
let server: LlamaServer;

const backendFor = (options: { logprobs?: boolean } = {}) =>
  createOpenAIBackend({
    baseURL: server.url,
    model: "reckon-tiny",
    mode: "completion",
    maxRetries: 0,
    ...options,
  });

beforeAll(async () => {
  server = await startLlamaServer({ parallel: 8 });
});

afterAll(async () => {
  await server?.close();
});

describe("the OpenAI backend on llama-server", () => {
  it("streams each sample's text as it is decoded; the pieces join to the completion", async () => {
    const backend = backendFor();
    const pieces: TokenEvent[] = [];
    let resolved = false;
    let piecesBeforeTheEnd = 0;
    const response = await backend
      .generate({
        ...sampling,
        prompt,
        n: 1,
        seed: 1,
        onToken: (event) => {
          pieces.push(event);
          if (!resolved) piecesBeforeTheEnd += 1;
        },
      })
      .finally(() => {
        resolved = true;
      });
    const [completion] = response.completions;
    expect(pieces.length).toBeGreaterThan(5);
    expect(piecesBeforeTheEnd).toBe(pieces.length);
    expect(pieces.map((p) => p.text).join("")).toBe(completion!.text);
    expect(pieces.every((p) => p.index === 0)).toBe(true);
    expect(completion!.finishReason).toBe("eos");
    expect(arithmeticTask.extractAnswer(completion!.text)).toMatch(/^-?\d+$/);
  });

  it("asks for n samples in one request, metered as one call with the server's usage", async () => {
    const backend = backendFor();
    const response = await backend.generate({ ...sampling, prompt, n: 6, seed: 2 });
    expect(response.completions).toHaveLength(6);
    expect(response.usage.calls).toBe(1);
    expect(response.usage.estimated).toBe(false);
    const tokens = response.completions.reduce((sum, c) => sum + c.tokens, 0);
    expect(response.usage.completionTokens).toBe(tokens);
    expect(response.usage.promptTokens + (response.usage.cachedPromptTokens ?? 0)).toBeGreaterThan(0);
    // Different samples of one seeded request differ somewhere.
    expect(new Set(response.completions.map((c) => c.text)).size).toBeGreaterThan(1);
  });

  it("repeats seeded samples exactly", async () => {
    const backend = backendFor();
    const once = await backend.generate({ ...sampling, prompt, n: 3, seed: 7 });
    const again = await backend.generate({ ...sampling, prompt, n: 3, seed: 7 });
    expect(again.completions.map((c) => c.text)).toEqual(once.completions.map((c) => c.text));
  });

  it("generates to maxTokens past the end of text with ignoreEos (the server's ignore_eos)", async () => {
    const backend = backendFor();
    const request = { prompt, n: 2, temperature: 0, maxTokens: 80 };
    const plain = (await backend.generate(request)).completions[0]!;
    expect(plain.tokens).toBeLessThan(80);
    const longer = await backend.generate({ ...request, ignoreEos: true });
    for (const completion of longer.completions) {
      expect(completion.tokens).toBe(80);
      expect(completion.finishReason).toBe("length");
      expect(completion.text.startsWith(plain.text)).toBe(true);
    }
  });

  it("streams logprobs with the top alternatives of every token", async () => {
    const backend = backendFor();
    const pieces: TokenEvent[] = [];
    const response = await backend.generate({
      ...sampling,
      prompt,
      n: 1,
      seed: 3,
      logprobs: true,
      topLogprobs: 3,
      onToken: (event) => pieces.push(event),
    });
    const [completion] = response.completions;
    const streamed = pieces.flatMap((p) => p.logprobs ?? []);
    expect(completion!.logprobs!.length).toBe(completion!.tokens);
    expect(streamed).toHaveLength(completion!.logprobs!.length);
    for (const token of streamed) {
      expect(token.logprob).toBeLessThanOrEqual(0);
      expect(token.top).toHaveLength(3);
    }
    expect(streamed.map((t) => t.token).join("")).toBe(completion!.text);
    // Without alternatives asked for, the chosen tokens' logprobs still come.
    const plain = await backend.generate({
      ...sampling,
      prompt,
      n: 1,
      seed: 3,
      logprobs: true,
      onToken: () => {},
    });
    expect(plain.completions[0]!.logprobs).toHaveLength(plain.completions[0]!.tokens);
  });

  it("tells a stop string from the end of text, which this server does not say", async () => {
    const backend = backendFor();
    const stepped = await backend.generate({ ...sampling, prompt, n: 4, seed: 4, stop: ["\n"] });
    expect(stepped.completions).toHaveLength(4);
    for (const completion of stepped.completions) {
      expect(completion.finishReason).toBe("stop-sequence");
      expect(completion.stopSequence).toBe("\n");
      expect(completion.text).not.toContain("\n");
      expect(completion.text).toMatch(/^\d+[*+-]\d+=-?\d+$/);
    }
    const whole = await backend.generate({ ...sampling, prompt, n: 1, seed: 4, stop: ["never written"] });
    expect(whole.completions[0]!.finishReason).toBe("eos");
    expect(whole.completions[0]!.text).toContain("A:");
  });

  it("frees the server's slot when a request is cancelled, and meters what was sent", async () => {
    const endless = await startLlamaServer({ parallel: 1, contextSize: 2048, extraArgs: ["--ignore-eos"] });
    try {
      const backend = createOpenAIBackend({ baseURL: endless.url, model: "reckon-tiny", mode: "completion" });
      const cancel = new AbortController();
      let streamed = 0;
      const error = await backend
        .generate({
          ...sampling,
          maxTokens: 1800,
          prompt,
          n: 1,
          signal: cancel.signal,
          onToken: (event) => {
            streamed += event.tokens;
            if (streamed >= 8) cancel.abort();
          },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortedError);
      const partial = (error as AbortedError).partial!;
      expect(partial.usage.calls).toBe(1);
      expect(partial.usage.completionTokens).toBeGreaterThanOrEqual(8);
      expect(partial.completions[0]!.finishReason).toBe("aborted");
      // The slot goes idle long before 1,800 tokens, and serves the next request.
      let slots: { is_processing: boolean; next_token?: { n_decoded: number }[] }[] = [];
      for (let poll = 0; poll < 200; poll++) {
        slots = (await (await fetch(`${endless.origin}/slots`)).json()) as typeof slots;
        if (!slots[0]!.is_processing) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(slots[0]!.is_processing).toBe(false);
      expect(slots[0]!.next_token?.[0]?.n_decoded ?? 0).toBeLessThan(1800);
      const next = await backend.generate({ ...sampling, maxTokens: 4, prompt, n: 1 });
      expect(next.completions[0]!.tokens).toBe(4);
    } finally {
      await endless.close();
    }
  });
});

describe("methods that need streaming, on llama-server", () => {
  const [problem] = generateArithmeticProblems({ level: 3, count: 1, seed: 11 }).map(toProblem);
  // Long solutions, so that most samples are still being written when the first one ends.
  const [long] = generateArithmeticProblems({ level: 5, count: 1, seed: 11 }).map(toProblem);
  // One whose warm-up traces disagree, so that online traces are judged against the threshold.
  const contested = generateArithmeticProblems({ level: 4, count: 4, seed: 11 }).map(toProblem)[3]!;

  it("beam search finds the answer step by step", async () => {
    const result = await run({
      problem: problem!,
      backend: backendFor(),
      strategy: "beam-search",
      options: { n: 8, beamWidth: 2 },
      verifier: stepCheckerVerifier(),
      sampling: { ...sampling, seed: 5 },
    });
    expect(result.answer).toBe(problem!.reference);
    expect(result.candidates.length).toBeGreaterThan(0);
    expect(result.usage.calls).toBeGreaterThan(1);
  });

  it("first-finish cancels the request once k of the server's n samples have finished", async () => {
    const result = await run({
      problem: long!,
      backend: backendFor(),
      strategy: "first-finish",
      options: { n: 8, k: 1 },
      sampling: { ...sampling, seed: 6 },
    });
    expect(result.stopReason).toBe("early-stop");
    expect(result.usage.calls).toBe(1);
    expect(result.answer).toBe(long!.reference);
    expect(Number(result.detail!.cancelled)).toBeGreaterThan(0);
    // Tokens of the cancelled samples are metered too.
    const finishedTokens = result.candidates
      .filter((c) => c.finishReason !== "aborted")
      .reduce((sum, c) => sum + c.tokens, 0);
    expect(result.usage.completionTokens).toBeGreaterThan(finishedTokens);
  });

  it("deepconf online abandons weak traces in one streamed request each", async () => {
    const result = await run({
      problem: contested,
      backend: backendFor(),
      strategy: "deepconf",
      options: { n: 16, warmup: 8, keep: 0.5, window: 4, confidence: "top-k", topLogprobs: 3, consensus: 1 },
      sampling: { ...sampling, seed: 8 },
    });
    expect(result.answer).toBe(contested.reference);
    expect(Number(result.detail!.abandoned)).toBeGreaterThan(0);
    // Traces cut off while written (a trace that ends before its cancellation lands is judged
    // whole): they state no answer and were shorter than the finished ones.
    const cut = result.candidates.filter((c) => c.finishReason === "aborted");
    const finished = result.candidates.filter((c) => c.finishReason === "eos");
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.length).toBeLessThanOrEqual(Number(result.detail!.abandoned));
    expect(cut.every((c) => c.answer === undefined)).toBe(true);
    expect(Math.max(...cut.map((c) => c.tokens))).toBeLessThan(Math.min(...finished.map((c) => c.tokens)));
  });
});
