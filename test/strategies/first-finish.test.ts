/** First-finish on the bundled model and on a loopback OpenAI server: cancelled work is still metered. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { Backend } from "../../src/core/backend.js";
import { collectTrace } from "../../src/core/trace.js";
import { createDefaultBackend, generateArithmeticProblems, run, toProblem } from "../../src/index.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { startOpenAITestServer } from "../support/openai-test-server.js";

const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96 };
const sumTokens = (candidates: { tokens: number }[]) => candidates.reduce((s, c) => s + c.tokens, 0);

describe("first-finish on the bundled model", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createDefaultBackend({ threads: 1 });
  });
  afterAll(() => backend.close?.());

  it("cancels the samples still decoding and meters every token they spent", async () => {
    // Level-5 problems: samples differ in length by a token or two, so some are still decoding.
    const problems = generateArithmeticProblems({ level: 5, count: 3, seed: 11 }).map(toProblem);
    let cutOff = 0;
    for (const [i, problem] of problems.entries()) {
      const { sink, events } = collectTrace();
      const result = await run({
        problem,
        backend,
        strategy: "first-finish",
        options: { n: 16 },
        sampling: { ...sampling, seed: 100 + i },
        trace: sink,
      });
      expect(result.stopReason).toBe("early-stop");
      expect(result.candidates).toHaveLength(16);
      // The usage comes from the cancellation's partial result: every token of every sample.
      expect(result.usage.completionTokens).toBe(sumTokens(result.candidates));
      const winner = result.candidates[0]!;
      expect(winner.finishReason).toBe("eos");
      expect(result.answer).toBe(winner.answer);
      for (const c of result.candidates.filter((c) => c.finishReason === "aborted")) {
        expect(c.answer).toBeUndefined();
        expect(c.tokens).toBeGreaterThanOrEqual(winner.tokens);
      }
      cutOff += result.candidates.filter((c) => c.finishReason === "aborted").length;
      expect(events.some((e) => e.kind === "stopped-early")).toBe(true);
    }
    expect(cutOff).toBeGreaterThan(0);
  });

  it("votes among the first k", async () => {
    const [problem] = generateArithmeticProblems({ level: 1, count: 1, seed: 11 }).map(toProblem);
    const result = await run({
      problem: problem!,
      backend,
      strategy: "first-finish",
      options: { n: 8, k: 3 },
      sampling: { ...sampling, seed: 5 },
    });
    expect(result.tally.reduce((s, t) => s + t.count, 0)).toBe(3);
    expect((result.detail as { winners: number[] }).winners).toHaveLength(3);
  });
});

describe("first-finish on a loopback OpenAI server", () => {
  // Each sample's length (in words) depends on its seed; the server takes 15 ms per word.
  const words = (seed: number) => 3 + ((seed >>> 3) % 25);
  const respond = (request: { seed?: number }) => `${"work ".repeat(words(request.seed ?? 0))}\nA: 42`;
  const problem = { id: "q", prompt: "Q: 40+2=?\n", reference: "42", task: arithmeticTask };

  it("returns the first answer, cancels the requests in flight and meters each one", async () => {
    const server = await startOpenAITestServer({ respond, tokenLatencyMs: 15 });
    try {
      const backend = createOpenAIBackend({
        baseURL: server.url,
        model: "test-model",
        mode: "completion",
        nParameter: "ignored",
        concurrency: 8,
      });
      const result = await run({
        problem,
        backend,
        strategy: "first-finish",
        options: { n: 8 },
        sampling: { seed: 3 },
      });
      expect(result.answer).toBe("42");
      expect(result.stopReason).toBe("early-stop");
      const detail = result.detail as { finished: number; cancelled: number };
      expect(detail.finished).toBeGreaterThanOrEqual(1);
      expect(detail.cancelled).toBe(8 - detail.finished);
      expect(detail.cancelled).toBeGreaterThan(0);
      // Every request the server received is a metered call; the cut-off ones cost their prompt.
      expect(server.requests).toHaveLength(8);
      expect(result.usage.calls).toBe(8);
      expect(result.usage.estimated).toBe(true);
      expect(result.usage.completionTokens).toBe(sumTokens(result.candidates));
      // The winner is the shortest sample: it came back first.
      const seeds = server.requests.map((r) => r.body.seed as number);
      const shortest = Math.min(...seeds.map(words));
      expect(result.candidates[0]!.tokens).toBe(shortest + 2);
    } finally {
      await server.close();
    }
  });

  it("waits for every sample when none is cancelled", async () => {
    const server = await startOpenAITestServer({ respond: () => "no answer here" });
    try {
      const backend = createOpenAIBackend({ baseURL: server.url, model: "m", mode: "completion" });
      const result = await run({
        problem,
        backend,
        strategy: "first-finish",
        options: { n: 4 },
        sampling: { seed: 1 },
      });
      expect(result.answer).toBeUndefined();
      expect(result.stopReason).toBe("completed");
      expect(result.candidates).toHaveLength(4);
    } finally {
      await server.close();
    }
  });
});
