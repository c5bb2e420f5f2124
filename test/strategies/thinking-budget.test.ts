/**
 * Thinking budgets (s1's budget forcing) against a loopback server whose model thinks between
 * think tags; the server counts whitespace-separated words as tokens and honours max_tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { Problem } from "../../src/core/types.js";
import { run } from "../../src/index.js";
import { getTask } from "../../src/tasks/registry.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";

const words = (text: string): number => (text.match(/\S+\s*|\s+/g) ?? []).length;

const problem: Problem = {
  id: "q",
  prompt: "Q: What is 2+3? Think, then put the answer in \\boxed{}.\nA:",
  reference: "5",
  task: getTask("math"),
};

// A long thinking that talks itself into 7 near its end; the model then answers 7.
const longThinking = [
  "2+3: two and three.",
  ...Array.from({ length: 30 }, (_, i) => `step${i}`),
  "so maybe \\boxed{7}.",
].join(" ");

/**
 * Fresh: long thinking, then answer 7. After a forced end of thinking: answers 5. A short
 * thinker (prompt "short") stops early; told to "Wait", it checks and answers 5.
 */
function respond(request: TestRequestView): string {
  const { prompt } = request;
  if (prompt.endsWith("Final answer:")) return " \\boxed{5}";
  if (prompt.includes("short")) {
    if (prompt.endsWith("Wait")) return ", check: 2+3 = 5, not 7.\n</think>\n\nThe answer is \\boxed{5}.";
    return "<think>\nIt is 7.\n</think>\n\nThe answer is \\boxed{7}.";
  }
  return `<think>\n${longThinking}\n</think>\n\nThe answer is \\boxed{7}.`;
}

describe("thinking-budget over an OpenAI-compatible server", () => {
  let llm: OpenAITestServer;
  beforeAll(async () => {
    llm = await startOpenAITestServer({ respond });
  });
  afterAll(() => llm.close());
  const backend = () => createOpenAIBackend({ baseURL: llm.url, model: "m", mode: "completion" });

  it("stops thinking at maxThinking tokens, closes the thinking and has the answer written", async () => {
    const unbounded = await run({ problem, backend: backend(), strategy: "single" });
    expect(unbounded.answer).toBe("7");

    const before = llm.requests.length;
    const result = await run({
      problem,
      backend: backend(),
      strategy: "thinking-budget",
      options: { maxThinking: 10 },
    });
    const sent = llm.requests.slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.body.max_tokens).toBe(10);
    // The thinking the model wrote within its 10 tokens, then the end of thinking and the cue.
    const candidate = result.candidates[0]!;
    expect(words(`<think>\n${candidate.reasoning}`)).toBeLessThanOrEqual(10);
    expect(candidate.reasoning).toContain("step0");
    expect(candidate.reasoning).not.toContain("\\boxed{7}");
    expect(sent[1]!.body.prompt).toBe(
      `${problem.prompt}<think>\n${candidate.reasoning}\n</think>\n\nFinal answer:`,
    );
    expect(candidate.text).toBe("Final answer: \\boxed{5}");
    expect(result.answer).toBe("5");
    expect(result.detail).toMatchObject({ thinkingTokens: [10], forced: [true] });
    // Metered exactly: the 10 thinking tokens and the answer's, in two calls.
    expect(result.usage.calls).toBe(2);
    expect(result.usage.completionTokens).toBe(10 + words(" \\boxed{5}"));
  });

  it("extends a thinking that ends before minThinking by appending Wait", async () => {
    const short: Problem = { ...problem, id: "short", prompt: `${problem.prompt} (short)` };
    const unextended = await run({ problem: short, backend: backend(), strategy: "single" });
    expect(unextended.answer).toBe("7");

    const before = llm.requests.length;
    const result = await run({
      problem: short,
      backend: backend(),
      strategy: "thinking-budget",
      options: { minThinking: 20, maxWaits: 1 },
    });
    const sent = llm.requests.slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.body.prompt).toBe(`${short.prompt}<think>\nIt is 7.\nWait`);
    expect(result.candidates[0]!.reasoning).toBe("It is 7.\nWait, check: 2+3 = 5, not 7.");
    expect(result.candidates[0]!.text).toBe("The answer is \\boxed{5}.");
    expect(result.answer).toBe("5");
    expect(result.detail).toMatchObject({ waits: [1], forced: [false] });
    expect(result.usage.calls).toBe(2);
  });

  it("refuses a backend that cannot continue a partial answer", async () => {
    const hosted = createOpenAIBackend({ baseURL: llm.url, model: "m", chatPrefill: "unsupported" });
    await expect(
      run({ problem, backend: hosted, strategy: "thinking-budget", options: { maxThinking: 10 } }),
    ).rejects.toThrow(/continues a partial answer/);
  });
});
