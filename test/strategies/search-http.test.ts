/**
 * Search and revision strategies in front of a loopback OpenAI-compatible server, guided by a
 * loopback process reward model: continuations go over the wire as prompt + prefix, steps end
 * at the stop string the server reports, and PRM tokens are metered as verifier usage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { BackendError } from "../../src/core/errors.js";
import { collectTrace } from "../../src/core/trace.js";
import { run } from "../../src/run.js";
import {
  type ArithmeticProblem,
  formatStep,
  generateArithmeticProblems,
  type Operator,
  parseArithmeticPrompt,
  solveCanonical,
  toProblem,
} from "../../src/tasks/arithmetic.js";
import { processRewardModelVerifier } from "../../src/verifiers/prm.js";
import { resolveVerifier } from "../../src/verifiers/registry.js";
import { checkArithmeticSolution } from "../../src/verifiers/step-checker.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";
import { startPrmServer, type TestServer } from "../support/prm-server.js";

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function splitExpression(expression: string): [number[], Operator[]] {
  const parts = expression.split(/([+\-*])/);
  return [parts.filter((_, i) => i % 2 === 0).map(Number), parts.filter((_, i) => i % 2 === 1) as Operator[]];
}

/**
 * A seeded model of the arithmetic task that continues a partial solution: it replays the
 * lines so far, then writes the rest in canonical order, slipping (a result off by one to
 * nine) on the next step 30% of the time. Revision and critique prompts get the question's
 * solution too; a critique request is answered with a verdict.
 */
function steppingResponder(request: TestRequestView, index: number): string {
  const text = request.prompt;
  const questionAt = text.lastIndexOf("Q: ");
  const promptEnd = text.indexOf("\n", questionAt) + 1;
  const expression = parseArithmeticPrompt(text.slice(questionAt, promptEnd));
  if (expression === undefined) return "I cannot read this question.";
  if (/Review the solution above/.test(text)) return "The solution is correct.";
  if (/Is the solution above correct\?/.test(text)) {
    const shown = /A: (-?\d+)/.exec(request.body.messages?.at(-2)?.content ?? "")?.[1];
    const value = solveCanonical(...splitExpression(expression))?.at(-1)?.result;
    return Number(shown) === value ? "Yes, it is." : "No, it is not.";
  }
  // Completion prompts carry the partial solution after the question; chat ones as a prefilled turn.
  const messages = request.body.messages as { role: string; content: string }[] | undefined;
  const partial = messages
    ? messages.at(-1)?.role === "assistant"
      ? messages.at(-1)!.content
      : ""
    : text.slice(promptEnd);
  const replayed = checkArithmeticSolution(expression, partial);
  const current = replayed.steps.at(-1)?.expression ?? expression;
  const [nums, ops] = splitExpression(current);
  const steps = solveCanonical(nums, ops) ?? [];
  if (steps.length === 0) return `A: ${nums[0]}`;
  const roll = hash(`${request.seed}|${index}|${text}`) % 10;
  const first = steps[0]!;
  const result = first.result + (roll < 3 ? 1 + (roll % 9) : 0);
  // The rest follows from what was written, right or not.
  const at = ops.includes("*") ? ops.indexOf("*") : 0;
  nums.splice(at, 2, result);
  ops.splice(at, 1);
  const rest = solveCanonical(nums, ops) ?? [];
  const lines = [formatStep({ ...first, result }), ...rest.map(formatStep)];
  const value = rest.at(-1)?.result ?? result;
  return `${lines.map((l) => `${l}\n`).join("")}A: ${value}`;
}

let llm: OpenAITestServer;
let prm: TestServer;
const dataset: ArithmeticProblem[] = generateArithmeticProblems({ level: 4, count: 4, seed: 21 });
const problems = dataset.map(toProblem);

beforeAll(async () => {
  llm = await startOpenAITestServer({ respond: steppingResponder });
  prm = await startPrmServer({ style: "math-shepherd" });
});
afterAll(async () => {
  await llm.close();
  await prm.close();
});

const completionBackend = () =>
  // This server names the stop string that ended a choice, as vLLM does.
  createOpenAIBackend({ baseURL: llm.url, model: "test-model", mode: "completion", stopStrings: "server" });

async function accuracy(strategy: string, options: Record<string, unknown>) {
  const verifier = await resolveVerifier(`prm:${prm.url}/pooling:min`, { task: "arithmetic" });
  let right = 0;
  let verifierTokens = 0;
  for (const [i, problem] of problems.entries()) {
    const result = await run({
      problem,
      backend: completionBackend(),
      strategy,
      options,
      verifier,
      sampling: { temperature: 1, maxTokens: 200, seed: 40 + i },
    });
    if ((await problem.task.grade(result.answer, problem)).correct) right++;
    verifierTokens += result.usage.verifierTokens ?? 0;
  }
  return { accuracy: right / problems.length, verifierTokens };
}

describe("search over an OpenAI-compatible server with a PRM server", () => {
  it("sends continuations and step stops, and reads steps back from stop_reason", async () => {
    const before = llm.requests.length;
    const trace = collectTrace();
    const result = await run({
      problem: problems[0]!,
      backend: completionBackend(),
      strategy: "beam-search",
      options: { n: 4, beamWidth: 2 },
      verifier: processRewardModelVerifier({ url: prm.url, protocol: "vllm-pooling" }),
      sampling: { temperature: 1, maxTokens: 200, seed: 1 },
      trace: trace.sink,
    });
    const sent = llm.requests.slice(before);
    expect(sent[0]!.body.prompt).toBe(problems[0]!.prompt);
    expect(sent[0]!.body.stop).toEqual(["\n"]);
    expect(sent[0]!.body.n).toBe(4);
    // Later calls continue a partial solution: the prompt plus the steps so far.
    expect(sent.at(-1)!.body.prompt.startsWith(problems[0]!.prompt as string)).toBe(true);
    expect(sent.at(-1)!.body.prompt.length).toBeGreaterThan((problems[0]!.prompt as string).length);
    expect(result.answer).toBe(dataset[0]!.reference);
    expect(result.usage.verifierTokens).toBeGreaterThan(0);
    expect(result.usage.verifierCalls).toBeGreaterThan(0);
    const steps = trace.events.filter((e) => e.kind === "step" && e.text);
    expect(steps.every((s) => s.text!.endsWith("\n") || s.data?.done === true)).toBe(true);
  });

  it.each([
    ["beam-search", { n: 8, beamWidth: 2 }],
    ["dvts", { n: 8, beamWidth: 4 }],
    ["lookahead", { n: 8, beamWidth: 2, lookahead: 1 }],
    ["mcts", { simulations: 4, branching: 3 }],
  ])("%s finds the right answers where single samples slip", async (strategy, options) => {
    const single = await accuracy("single", {});
    const searched = await accuracy(strategy, options);
    expect(searched.accuracy).toBe(1);
    expect(searched.accuracy).toBeGreaterThan(single.accuracy);
    expect(searched.verifierTokens).toBeGreaterThan(0);
  });

  it("fails with the PRM server's problem when it answers garbage", async () => {
    const bad = await startPrmServer({ garbage: "wrong-shape" });
    try {
      const attempt = run({
        problem: problems[0]!,
        backend: completionBackend(),
        strategy: "beam-search",
        options: { n: 4, beamWidth: 2 },
        verifier: processRewardModelVerifier({ url: bad.url, protocol: "vllm-pooling", maxRetries: 0 }),
        sampling: { seed: 1 },
      });
      await expect(attempt).rejects.toThrow(BackendError);
      await expect(attempt).rejects.toThrow(
        `process reward model at ${bad.url}/pooling answered an unexpected shape`,
      );
    } finally {
      await bad.close();
    }
  });

  it("refuses a chat server that cannot continue a partial answer", async () => {
    const backend = createOpenAIBackend({
      baseURL: llm.url,
      model: "test-model",
      chatPrefill: "unsupported",
    });
    await expect(
      run({
        problem: problems[0]!,
        backend,
        strategy: "dvts",
        verifier: processRewardModelVerifier({ url: prm.url }),
      }),
    ).rejects.toThrow(
      /strategy "dvts" extends partial solutions step by step, and backend openai:test-model cannot/,
    );
  });
});

describe("revision strategies over an OpenAI-compatible chat server", () => {
  const chat = () => createOpenAIBackend({ baseURL: llm.url, model: "test-model" });
  const chatProblem = {
    ...problems[1]!,
    prompt: [{ role: "user" as const, content: problems[1]!.prompt as string }],
  };

  it("revisions show each chain its earlier attempts as a conversation", async () => {
    const before = llm.requests.length;
    const result = await run({
      problem: chatProblem,
      backend: chat(),
      strategy: "revisions",
      options: { n: 6, chains: 2, window: 2 },
      sampling: { temperature: 1, seed: 3 },
    });
    expect(result.candidates).toHaveLength(6);
    const sent = llm.requests.slice(before).map((r) => r.body.messages);
    expect(sent.filter((m) => m.length === 1)).toHaveLength(2); // first attempts: the question alone
    const last = sent.at(-1)!;
    expect(last.map((m: { role: string }) => m.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    expect(last.at(-1).content).toMatch(/Solve the problem again/);
    expect(result.answer).toBe(dataset[1]!.reference);
  });

  it("self-refine stops when the critique finds no mistake", async () => {
    const trace = collectTrace();
    const result = await run({
      problem: chatProblem,
      backend: chat(),
      strategy: "self-refine",
      sampling: { temperature: 1, seed: 3 },
      trace: trace.sink,
    });
    expect(result.stopReason).toBe("early-stop");
    expect(result.detail).toMatchObject({ rounds: 0, stoppedBecause: "critique found no mistake" });
    expect(trace.events.some((e) => e.kind === "scored" && e.text === "The solution is correct.")).toBe(true);
  });

  it("the judge scores by P(Yes) from logprobs, and by verdicts without them", async () => {
    const judge = await resolveVerifier("judge", { task: "arithmetic" });
    const reference = dataset[1]!.reference;
    const candidates = [`A: ${reference}`, `A: ${Number(reference) + 3}`].map((text) => ({
      text,
      finishReason: "eos" as const,
      tokens: 2,
      answer: text.slice(3),
    }));
    const recorded: number[] = [];
    const context = (backend: ReturnType<typeof chat>) => ({
      backend,
      recordUsage: ({ tokens }: { tokens: number }) => recorded.push(tokens),
    });
    // The server's first word carries all of its logprob mass ("Yes," or "No,"): P(True) is 1 or 0.
    expect(await judge.score(chatProblem, candidates, context(chat()))).toEqual([1, 0]);
    const body = llm.requests.at(-1)!.body;
    expect(body.logprobs).toBe(true);
    expect(body.max_tokens).toBe(1);
    expect(body.messages.at(-1).content).toMatch(/Is the solution above correct\?/);
    const noLogprobs = createOpenAIBackend({ baseURL: llm.url, model: "test-model", logprobs: false });
    expect(await judge.score(chatProblem, candidates, context(noLogprobs))).toEqual([1, 0]);
    expect(llm.requests.at(-1)!.body.max_tokens).toBe(8); // a short generated verdict
    await expect(resolveVerifier("judge:maybe", { task: "arithmetic" })).rejects.toThrow(
      /unknown judge mode "maybe"/,
    );
  });
});
