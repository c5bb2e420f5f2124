/**
 * Every strategy names the candidate whose text answers (`Result.chosen`) by its own rule; the
 * proxy and the AI SDK middleware answer with that text, and nothing downstream guesses it.
 * The model is a stand-in in process (scripted replies, or a seeded model of the arithmetic
 * task that continues partial solutions, with varied logprobs); the code strategies run
 * against a loopback OpenAI-compatible server and the real sandbox.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { type Backend, type GenerateRequest, reportWholeSample } from "../../src/core/backend.js";
import { ReckonError } from "../../src/core/errors.js";
import { latestAnsweredIndex, selectAnswer, voteAnswer } from "../../src/core/selection.js";
import type {
  Candidate,
  Completion,
  Problem,
  Result,
  StrategyOutcome,
  Task,
  TokenLogprob,
} from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { createStrategyRegistry } from "../../src/strategies/registry.js";
import { drawCandidates } from "../../src/strategies/sampling.js";
import { defineStrategy } from "../../src/strategies/strategy.js";
import {
  applyOperator,
  arithmeticTask,
  generateArithmeticProblems,
  type Operator,
  toProblem,
} from "../../src/tasks/arithmetic.js";
import { type HumanEvalRow, loadHumanEval } from "../../src/tasks/code.js";
import { getTask, renderPrompt } from "../../src/tasks/registry.js";
import { resolveVerifier } from "../../src/verifiers/registry.js";
import { checkArithmeticSolution } from "../../src/verifiers/step-checker.js";
import { codeResponder } from "../support/code-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

/** What a reply is written from: the prompt as text, the partial answer, the model asked. */
interface Ask {
  prompt: string;
  continuation: string;
  model?: string;
  seed?: number;
}
type Reply = string | { text: string; reasoning?: string };

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A backend in process that answers sample i of a request with `reply(ask, i)`: stop strings cut
 * the text (and are named), `maxTokens` cuts it by words, logprobs come with top alternatives
 * that vary from sample to sample, and it serves any model by name.
 */
function standIn(reply: (ask: Ask, index: number) => Reply): Backend {
  return {
    id: "stand-in",
    capabilities: {
      multipleSamples: true,
      logprobs: true,
      continuation: true,
      promptScoring: false,
      chat: false,
      streaming: false,
      stopSequences: true,
      modelChoice: true,
    },
    async generate(request: GenerateRequest) {
      const prompt =
        typeof request.prompt === "string" ? request.prompt : request.prompt.map((m) => m.content).join("\n");
      const ask: Ask = {
        prompt,
        continuation: request.continuation ?? "",
        model: request.model,
        seed: request.seed,
      };
      const completions = Array.from({ length: request.n }, (_, j) =>
        complete(reply(ask, (request.sampleOffset ?? 0) + j), request),
      );
      completions.forEach((completion, i) => {
        reportWholeSample(request, completion, i);
      });
      const completionTokens = completions.reduce((sum, c) => sum + c.tokens, 0);
      return {
        completions,
        usage: {
          promptTokens: prompt.split(/\s+/).length,
          completionTokens,
          calls: 1,
          latencyMs: 0,
          estimated: false,
        },
      };
    },
  };
}

function complete(reply: Reply, request: GenerateRequest): Completion {
  let text = typeof reply === "string" ? reply : reply.text;
  let finishReason: Completion["finishReason"] = "eos";
  let stopSequence: string | undefined;
  for (const stop of request.stop ?? []) {
    const at = text.indexOf(stop);
    if (at >= 0) {
      text = text.slice(0, at);
      finishReason = "stop-sequence";
      stopSequence = stop;
    }
  }
  let words: string[] = text.match(/\S+\s*|\s+/g) ?? [];
  if (request.maxTokens !== undefined && words.length > request.maxTokens) {
    words = words.slice(0, request.maxTokens);
    text = words.join("");
    finishReason = "length";
    stopSequence = undefined;
  }
  const logprobs: TokenLogprob[] | undefined = request.logprobs
    ? words.map((token, i) => {
        const logprob = -(hash(`${text}|${i}`) % 200) / 100;
        const top = Array.from({ length: request.topLogprobs ?? 1 }, (_, k) => ({
          token: k === 0 ? token : `alt${k}`,
          logprob: logprob - k * (0.2 + (hash(`${text}|${i}|${k}`) % 100) / 50),
        }));
        return { token, logprob, top };
      })
    : undefined;
  return {
    text,
    finishReason,
    ...(stopSequence !== undefined ? { stopSequence } : {}),
    tokens: words.length,
    ...(typeof reply !== "string" && reply.reasoning !== undefined ? { reasoning: reply.reasoning } : {}),
    ...(logprobs ? { logprobs } : {}),
  };
}

/** Numbers and operators of an expression as the step checker renders it (numbers may be negative). */
function parseExpression(expression: string): { nums: number[]; ops: Operator[] } {
  const nums: number[] = [];
  const ops: Operator[] = [];
  for (const [, op, num] of expression.matchAll(/(^|[+\-*])(-?\d+)/g)) {
    if (op) ops.push(op as Operator);
    nums.push(Number(num));
  }
  return { nums, ops };
}

/**
 * A seeded model of the arithmetic task: it reads the last question of the prompt, replays the
 * partial answer, and writes the rest one reduction per line (products first, then left to
 * right), now and then slipping by one to three; the rest follows from what it wrote. One first
 * answer in ten states no answer.
 */
function arithmeticModel(ask: Ask, index: number): string {
  const expression = [...ask.prompt.matchAll(/Q: ([0-9+\-*]+)=\?/g)].at(-1)?.[1];
  if (expression === undefined) return "I cannot read this question.";
  const key = `${ask.seed}|${index}|${ask.model}|${ask.prompt}|${ask.continuation}`;
  if (ask.continuation === "" && hash(`${key}|lost`) % 10 === 0) return "I am not sure.";
  const replayed = checkArithmeticSolution(expression, ask.continuation).steps.at(-1)?.expression;
  const { nums, ops } = parseExpression(replayed ?? expression);
  const lines: string[] = [];
  for (let step = 0; ops.length > 0; step++) {
    const at = ops.includes("*") ? ops.indexOf("*") : 0;
    const slip = hash(`${key}|${step}`) % 10 < 2 ? 1 + (hash(`${key}|${step}|by`) % 3) : 0;
    const result = applyOperator(nums[at]!, ops[at]!, nums[at + 1]!) + slip;
    lines.push(`${nums[at]}${ops[at]}${nums[at + 1]}=${result}\n`);
    nums.splice(at, 2, result);
    ops.splice(at, 1);
  }
  return `${lines.join("")}A: ${nums[0]}`;
}

const arithmetic: Problem[] = generateArithmeticProblems({ level: 3, count: 3, seed: 7 }).map(toProblem);

/** The chosen candidate exists whenever there are candidates, and states an answer equivalent to the result's. */
function expectChosenStandsForAnswer(result: Result, task: Task = arithmeticTask): void {
  if (result.candidates.length === 0) {
    expect(result.chosen).toBeUndefined();
    return;
  }
  expect(Number.isInteger(result.chosen)).toBe(true);
  const chosen = result.candidates[result.chosen!];
  expect(chosen).toBeDefined();
  if (result.answer === undefined) return;
  expect(chosen!.answer).toBeDefined();
  expect(task.equivalent(chosen!.answer!, result.answer)).toBe(true);
}

const question: Problem = { id: "q", prompt: "Q: 2+3=?\n", reference: "5", task: arithmeticTask };
const textOf = (result: Result) => result.candidates[result.chosen!]?.text;

describe("strategies whose rule is their own name the candidate it picks", () => {
  /** Critiques always find a mistake; each refinement of `earlier` is `next[earlier]`. */
  const refining =
    (draft: string, next: Record<string, string>) =>
    (ask: Ask): string => {
      if (/Review the solution above/.test(ask.prompt)) return "The first line is wrong.";
      const earlier = /Earlier solution:\n([\s\S]*?)\n\nFeedback:/.exec(ask.prompt)?.[1];
      return earlier === undefined ? draft : (next[earlier] ?? "Let me start over.");
    };

  it('self-refine "last" answers with the refined text, not the draft that says the same', async () => {
    const draft = "2+3=5, I think\nA: 5";
    const refined = "2+3=5, checked twice\nA: 5";
    const result = await run({
      problem: question,
      backend: standIn(refining(draft, { [draft]: refined })),
      strategy: "self-refine",
    });
    expect(result.detail).toMatchObject({ rounds: 1, stoppedBecause: "answer unchanged" });
    expect(result.candidates.map((c) => c.text)).toEqual([draft, refined]);
    expect(result.answer).toBe("5");
    expect(result.chosen).toBe(1);
    expect(textOf(result)).toBe(refined);
  });

  it('self-refine "last" names the latest attempt, where an earlier one states the same answer', async () => {
    const [first, second, third] = ["first\nA: 4", "second\nA: 5", "third\nA: 4"];
    const result = await run({
      problem: question,
      backend: standIn(refining(first, { [first]: second, [second]: third })),
      strategy: "self-refine",
      options: { maxRounds: 2, stopWhenUnchanged: false },
    });
    expect(result.candidates.map((c) => c.text)).toEqual([first, second, third]);
    expect(result.answer).toBe("4");
    expect(result.chosen).toBe(2);
  });

  it("self-refine streams the last round's pass as it is written, and nothing that is not its answer", async () => {
    const [first, second, third] = ["first\nA: 4", "second\nA: 5", "third\nA: 6"];
    const backend = standIn(refining(first, { [first]: second, [second]: third }));
    const streamed: string[] = [];
    const result = await run({
      problem: question,
      backend,
      strategy: "self-refine",
      options: { maxRounds: 2, stopWhenUnchanged: false },
      onAnswerToken: (event) => streamed.push(event.text),
    });
    expect(result.chosen).toBe(2);
    expect(streamed.join("")).toBe(third);
    // A loop that ends early answers with a pass that was not known to be final: none streams.
    const early: string[] = [];
    const stopped = await run({
      problem: question,
      backend: standIn(refining(first, { [first]: "again\nA: 4" })),
      strategy: "self-refine",
      options: { maxRounds: 3 },
      onAnswerToken: (event) => early.push(event.text),
    });
    expect(stopped.detail).toMatchObject({ stoppedBecause: "answer unchanged" });
    expect(early).toEqual([]);
    // A vote is decided after every pass.
    const voted: string[] = [];
    await run({
      problem: question,
      backend,
      strategy: "self-refine",
      options: { maxRounds: 2, select: "majority" },
      onAnswerToken: (event) => voted.push(event.text),
    });
    expect(voted).toEqual([]);
  });

  it('self-refine "last" answers with the final attempt even when it states no answer; "last-answered" passes over it', async () => {
    const draft = "2+3=5\nA: 5";
    const backend = standIn(refining(draft, {}));
    const last = await run({
      problem: question,
      backend,
      strategy: "self-refine",
      options: { maxRounds: 1 },
    });
    expect(last.candidates.map((c) => c.answer)).toEqual(["5", undefined]);
    expect(last.answer).toBeUndefined();
    expect(last.chosen).toBe(1);
    const answered = await run({
      problem: question,
      backend,
      strategy: "self-refine",
      options: { maxRounds: 1, select: "last-answered" },
    });
    expect(answered.answer).toBe("5");
    expect(answered.chosen).toBe(0);
  });

  /** alpha, beta and gamma propose; shown the first layer's answers, they change their minds. */
  const agents =
    (aggregate: string) =>
    (ask: Ask): string => {
      if (ask.model === "omega") return aggregate;
      const secondLayer = ask.prompt.includes("Answers from models");
      const says: Record<string, [string, string]> = {
        alpha: ["5", "7"],
        beta: ["5", "7"],
        gamma: ["7", "5"],
      };
      const answer = says[ask.model!]![secondLayer ? 1 : 0];
      return `${ask.model}${secondLayer ? " again" : ""}: 2+3=${answer}\nA: ${answer}`;
    };

  it("mixture-of-agents answers with the aggregator's text, not a proposal of the same answer", async () => {
    const aggregate = "omega weighed them: 2+3=5\nA: 5";
    const result = await run({
      problem: question,
      backend: standIn(agents(aggregate)),
      strategy: "mixture-of-agents",
      options: { proposers: ["alpha", "beta", "gamma"], aggregator: "omega" },
    });
    expect(result.candidates.map((c) => c.answer)).toEqual(["5", "5", "7", "5"]);
    expect(result.answer).toBe("5");
    expect(result.chosen).toBe(3);
    expect(textOf(result)).toBe(aggregate);
  });

  it("mixture-of-agents without an aggregated answer names the last layer's vote, not the first layer's", async () => {
    const result = await run({
      problem: question,
      backend: standIn(agents("I cannot choose between them.")),
      strategy: "mixture-of-agents",
      options: { proposers: ["alpha", "beta", "gamma"], aggregator: "omega", layers: 2 },
    });
    expect(result.candidates.map((c) => c.answer)).toEqual(["5", "5", "7", "7", "7", "5", undefined]);
    expect(result.answer).toBe("7");
    expect(result.chosen).toBe(3);
    expect(textOf(result)).toBe("alpha again: 2+3=7\nA: 7");
  });

  it('revisions "last" names the last attempt of a chain, at its place among all attempts', async () => {
    // Chain A says 5, 7, 5; chain B says 9, 9, 5: the chains' last attempts agree on 5.
    const says = { A: ["5", "7", "5"], B: ["9", "9", "5"] };
    const backend = standIn((ask, index) => {
      const earlier = ask.prompt.match(/^Attempt \d+:/gm)?.length ?? 0;
      const chain = earlier === 0 ? (index === 0 ? "A" : "B") : ask.prompt.includes("chain A") ? "A" : "B";
      const answer = says[chain][earlier]!;
      return `chain ${chain}, try ${earlier + 1}: 2+3=${answer}\nA: ${answer}`;
    });
    const result = await run({
      problem: question,
      backend,
      strategy: "revisions",
      options: { n: 6, chains: 2, select: "last" },
    });
    expect(result.candidates.map((c) => c.answer)).toEqual(["5", "7", "5", "9", "9", "5"]);
    expect(result.answer).toBe("5");
    expect(result.chosen).toBe(2);
    expect(textOf(result)).toBe("chain A, try 3: 2+3=5\nA: 5");
  });

  it('revisions "last" with one chain streams its last attempt as it is written, and only that', async () => {
    const backend = standIn((ask) => {
      const earlier = ask.prompt.match(/^Attempt \d+:/gm)?.length ?? 0;
      return `try ${earlier + 1}: 2+3=5\nA: 5`;
    });
    const streamed: string[] = [];
    const result = await run({
      problem: question,
      backend,
      strategy: "revisions",
      options: { n: 3, select: "last" },
      onAnswerToken: (event) => streamed.push(event.text),
    });
    expect(result.chosen).toBe(2);
    expect(streamed.join("")).toBe(textOf(result));
    expect(streamed.join("")).toBe("try 3: 2+3=5\nA: 5");
    // Two chains vote between their last attempts: none is the answer before it is written.
    const voted: string[] = [];
    await run({
      problem: question,
      backend,
      strategy: "revisions",
      options: { n: 4, chains: 2, select: "last" },
      onAnswerToken: (event) => voted.push(event.text),
    });
    expect(voted).toEqual([]);
  });

  it("refuses a strategy that names no candidate, or one that is not there", async () => {
    const naming = (chosen: unknown) =>
      defineStrategy({
        name: `names-${String(chosen)}`,
        description: "one sample, and a chosen index of the test's",
        options: z.object({}).strict(),
        needsVerifier: false,
        async run(problem, ctx) {
          const { candidates, stopReason } = await drawCandidates(problem, ctx, 1);
          const outcome = { answer: candidates[0]?.answer, candidates, tally: [], stopReason };
          // As a strategy in JavaScript could: without the key, or with any value.
          return (chosen === "missing" ? outcome : { ...outcome, chosen }) as StrategyOutcome;
        },
      });
    const strategies = createStrategyRegistry([naming("missing"), naming(1), naming(0)]);
    const backend = standIn(() => "A: 5");
    for (const name of ["names-missing", "names-1"])
      await expect(run({ problem: question, backend, strategy: name, strategies })).rejects.toThrow(
        ReckonError,
      );
    await expect(run({ problem: question, backend, strategy: "names-1", strategies })).rejects.toThrow(
      /returned chosen 1 with 1 candidates/,
    );
    expect((await run({ problem: question, backend, strategy: "names-0", strategies })).chosen).toBe(0);
  });
});

/** A policy for `auto` that probes with self-consistency and always lands in bin `bin`. */
function policy(bin: 0 | 1, then: { config: string; strategy: string; options: Record<string, unknown> }) {
  return {
    version: 1,
    task: "arithmetic",
    model: "stand-in",
    probe: { config: "self-consistency n=3", strategy: "self-consistency", options: { n: 3 } },
    // A constant estimate: difficulty 0 (bin 0, the probe answers) or 1 (bin 1, `then` runs).
    difficulty: {
      features: ["agreement"],
      means: [0],
      scales: [1],
      weights: [0],
      bias: bin === 0 ? 50 : -50,
      edges: [0.5],
    },
    objective: { kind: "max-accuracy", maxTokens: 1e9 },
    bins: [
      { use: "probe", accuracy: 1, tokens: 1, problems: 1 },
      { use: then, accuracy: 1, tokens: 1, problems: 1 },
    ],
    fittedOn: { problems: 2, configs: ["self-consistency n=3", then.config], accuracy: 1, tokens: 1 },
  };
}

interface Case {
  strategy: string;
  options?: Record<string, unknown>;
  verifier?: boolean;
  /** The model thinks (sent apart, as a reasoning model's server does) before it answers. */
  thinks?: boolean;
}

const thinking = (ask: Ask, index: number): Reply => ({
  reasoning: "Products first, then left to right.",
  text: arithmeticModel(ask, index),
});

/** Every registered strategy the stand-in model can run, with the variants of its rule. */
const cases: Case[] = [
  { strategy: "single" },
  { strategy: "self-consistency", options: { n: 7 } },
  { strategy: "best-of-n", options: { n: 7 }, verifier: true },
  { strategy: "weighted-majority", options: { n: 7 }, verifier: true },
  { strategy: "esc", options: { windowSize: 2, maxSamples: 8 } },
  { strategy: "adaptive-consistency", options: { windowSize: 2, minSamples: 2, maxSamples: 8 } },
  { strategy: "deepconf", options: { mode: "offline", n: 8, keep: 0.5, window: 2 } },
  { strategy: "deepconf", options: { mode: "online", n: 10, warmup: 4, keep: 0.5, window: 2, parallel: 2 } },
  { strategy: "self-certainty", options: { n: 7, topLogprobs: 4 } },
  { strategy: "self-certainty", options: { n: 7, topLogprobs: 4, select: "best" } },
  { strategy: "self-certainty", options: { n: 7, topLogprobs: 4, select: "weighted" } },
  { strategy: "first-finish", options: { n: 6, k: 1 } },
  { strategy: "first-finish", options: { n: 6, k: 3 } },
  { strategy: "beam-search", options: { n: 4, beamWidth: 2 }, verifier: true },
  { strategy: "beam-search", options: { n: 4, beamWidth: 2, select: "majority" }, verifier: true },
  { strategy: "lookahead", options: { n: 4, beamWidth: 2, lookahead: 1 }, verifier: true },
  { strategy: "dvts", options: { n: 4, beamWidth: 2 }, verifier: true },
  { strategy: "mcts", options: { simulations: 6 }, verifier: true },
  { strategy: "particle-filtering", options: { n: 4 }, verifier: true },
  { strategy: "self-refine", options: { maxRounds: 2, stopWhenUnchanged: false } },
  { strategy: "self-refine", options: { maxRounds: 2, select: "majority" } },
  { strategy: "self-refine", options: { maxRounds: 2, select: "best" }, verifier: true },
  { strategy: "revisions", options: { n: 6, chains: 2 } },
  { strategy: "revisions", options: { n: 6, chains: 2, select: "last" } },
  { strategy: "revisions", options: { n: 6, chains: 3, select: "weighted-majority" }, verifier: true },
  { strategy: "revisions", options: { n: 4, chains: 1, select: "best" }, verifier: true },
  { strategy: "rsa", options: { n: 4, k: 2, rounds: 2 } },
  { strategy: "mixture-of-agents", options: { proposers: ["alpha", "beta", "gamma"], layers: 2 } },
  { strategy: "thinking-budget", options: { n: 3 }, thinks: true },
  { strategy: "iterative-deepening", options: { start: 2, maxN: 8 } },
  { strategy: "iterative-deepening", options: { strategy: "best-of-n", start: 2, maxN: 8 }, verifier: true },
  {
    strategy: "auto",
    options: { policy: policy(0, { config: "self-refine", strategy: "self-refine", options: {} }) },
  },
  {
    strategy: "auto",
    options: {
      policy: policy(1, {
        config: "self-refine maxRounds=2",
        strategy: "self-refine",
        options: { maxRounds: 2, stopWhenUnchanged: false },
      }),
    },
  },
];
/** Run below, on HumanEval problems in the sandbox. */
const codeStrategies = ["self-debug", "codet", "execution-vote"];

describe("every strategy's chosen candidate states its answer", () => {
  it("covers every registered strategy", () => {
    const covered = new Set([...cases.map((c) => c.strategy), ...codeStrategies]);
    expect(
      createStrategyRegistry()
        .list()
        .map((s) => s.name)
        .filter((name) => !covered.has(name)),
    ).toEqual([]);
  });

  for (const { strategy, options = {}, verifier, thinks } of cases)
    it(`${strategy} ${JSON.stringify(options).slice(0, 80)}`, async () => {
      const checker = verifier
        ? await resolveVerifier("step-checker:0.3", { task: "arithmetic" })
        : undefined;
      let answered = 0;
      for (const [i, problem] of arithmetic.entries()) {
        const result = await run({
          problem,
          backend: standIn(thinks ? thinking : arithmeticModel),
          strategy,
          options,
          verifier: checker,
          sampling: { temperature: 1, maxTokens: 64, seed: 20 + i },
        });
        expectChosenStandsForAnswer(result);
        if (result.answer !== undefined) answered++;
      }
      // Not vacuous: most runs answer.
      expect(answered).toBeGreaterThanOrEqual(2);
    });
});

describe("the code strategies' chosen candidate states their answer", () => {
  const codeTask = getTask("code");
  let server: OpenAITestServer;
  let problems: Problem[];
  beforeAll(async () => {
    const path = fileURLToPath(new URL("../../../shared/datasets/HumanEval.jsonl.gz", import.meta.url));
    const rows: HumanEvalRow[] = (await loadHumanEval(path)).slice(0, 3);
    problems = rows.map((row) => ({
      id: row.task_id,
      prompt: renderPrompt("code", row.prompt),
      task: codeTask,
      meta: { prompt: row.prompt, test: row.test, entry_point: row.entry_point },
    }));
    server = await startOpenAITestServer({ respond: codeResponder({ rows }) });
  });
  afterAll(() => server?.close());

  for (const [strategy, options] of [
    ["self-debug", { maxRounds: 2 }],
    ["codet", { n: 4, testSamples: 1 }],
    ["execution-vote", { n: 4 }],
  ] as const)
    it(strategy, async () => {
      const backend = createOpenAIBackend({ baseURL: server.url, model: "coder" });
      for (const problem of problems) {
        const result = await run({
          problem,
          backend,
          strategy,
          options,
          sampling: { seed: 5, temperature: 0.8, maxTokens: 800 },
        });
        expect(result.answer).toBeDefined();
        expectChosenStandsForAnswer(result, codeTask);
      }
    });

  it("self-debug streams a pass known to be its answer before it begins, and only that", async () => {
    const backend = createOpenAIBackend({ baseURL: server.url, model: "coder" });
    let repairsStreamed = 0;
    for (const problem of problems)
      for (const maxRounds of [0, 1]) {
        const streamed: string[] = [];
        const result = await run({
          problem,
          backend,
          strategy: "self-debug",
          options: { maxRounds },
          sampling: { seed: 11, temperature: 0.8, maxTokens: 800 },
          onAnswerToken: (event) => streamed.push(event.text),
        });
        // Without rounds the first attempt is the answer; with one, the repair is, once the
        // first attempt has failed (one that passes was not known to before its tests ran).
        const final = maxRounds === 0 || result.candidates.length === 2;
        expect(streamed.join("")).toBe(final ? textOf(result) : "");
        if (maxRounds === 1 && final) repairsStreamed++;
      }
    expect(repairsStreamed).toBeGreaterThan(0);
  });
});

describe("the selection rules name their candidate", () => {
  const said = (...answers: (string | undefined)[]): Candidate[] =>
    answers.map((answer, i) => ({
      text: `sample ${i}`,
      finishReason: "eos" as const,
      tokens: 1,
      answer,
      score: i % 3,
    }));

  it("a vote names the best-ranked member of the winning answer", () => {
    const candidates = said("4", "5", "5", "4", "5");
    expect(selectAnswer(candidates, arithmeticTask, "majority")).toMatchObject({ answer: "5", chosen: 2 });
    // Ranked by another measure (a confidence), the member that ranks highest stands for it.
    const confidence = [0.1, 0.2, 0.3, 0.4, 0.9];
    expect(
      voteAnswer(candidates, arithmeticTask, { rank: (c) => confidence[candidates.indexOf(c)]! }),
    ).toMatchObject({ answer: "5", chosen: 4 });
  });

  it("without any answer stated, still names a candidate; without candidates, none", () => {
    const candidates = said(undefined, undefined, undefined);
    for (const rule of ["majority", "weighted-majority", "best"] as const)
      expect(selectAnswer(candidates, arithmeticTask, rule)).toMatchObject({ answer: undefined, chosen: 2 });
    expect(selectAnswer([], arithmeticTask, "majority").chosen).toBeUndefined();
    expect(latestAnsweredIndex(said("4", undefined))).toBe(0);
    expect(latestAnsweredIndex(said(undefined, undefined))).toBe(1);
    expect(latestAnsweredIndex([])).toBeUndefined();
  });
});
