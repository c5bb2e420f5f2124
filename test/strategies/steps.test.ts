/** The moves of step search (`steps.ts`) and the MCTS selection rule, on a scripted backend. */
import { describe, expect, it } from "vitest";
import type { Backend, GenerateRequest } from "../../src/core/backend.js";
import { discardTrace, Tracer } from "../../src/core/trace.js";
import {
  type Candidate,
  type Completion,
  emptyUsage,
  type Problem,
  type Task,
} from "../../src/core/types.js";
import type { Verifier } from "../../src/core/verifier.js";
import { createContext } from "../../src/strategies/context.js";
import { selectChild, uct } from "../../src/strategies/mcts.js";
import {
  expandNodes,
  rootNode,
  type SearchNode,
  type StepSettings,
  scoreSteps,
  selectAnswer,
  stepDelimiter,
} from "../../src/strategies/steps.js";

const task: Task = {
  name: "scripted",
  extractAnswer: (text) => /A: (\d+)/.exec(text)?.[1],
  equivalent: (a, b) => Number(a) === Number(b),
  grade: async () => ({ correct: false }),
  stepDelimiter: "\n",
};
const problem: Problem = { id: "p", prompt: "Q: 3+4*2=?\n", task };

/** Answers each request with the completions scripted for its continuation (none: the root). */
function scriptedBackend(script: Record<string, Completion[]>) {
  const requests: GenerateRequest[] = [];
  const backend: Backend = {
    id: "scripted",
    capabilities: {
      multipleSamples: true,
      logprobs: false,
      continuation: true,
      promptScoring: false,
      chat: false,
      streaming: false,
      stopSequences: true,
    },
    async generate(request) {
      requests.push(request);
      const completions = script[request.continuation ?? ""] ?? [];
      return { completions: completions.slice(0, request.n ?? 1), usage: emptyUsage() };
    },
  };
  return { backend, requests };
}

function context(backend: Backend, verifier?: Verifier) {
  return createContext({ backend, sampling: {}, tracer: new Tracer(discardTrace), verifier });
}

const settings: StepSettings = { delimiter: "\n", stepTokens: 16, aggregation: "min", pathTokens: 100 };
const step = (
  text: string,
  tokens: number,
  finishReason: Completion["finishReason"],
  stop?: string,
): Completion => ({
  text,
  tokens,
  finishReason,
  ...(stop ? { stopSequence: stop } : {}),
});

describe("stepDelimiter", () => {
  it("is the option when given, else the task's own, else a blank line", () => {
    expect(stepDelimiter(problem)).toBe("\n");
    expect(stepDelimiter(problem, "\n\n")).toBe("\n\n");
    expect(stepDelimiter({ ...problem, task: { ...task, stepDelimiter: undefined } })).toBe("\n\n");
  });
});

describe("expandNodes", () => {
  it("tells a finished step from a finished solution, and continues a partial one", async () => {
    const { backend, requests } = scriptedBackend({
      "": [
        step("4*2=8", 5, "stop-sequence", "\n"),
        step("A: 11", 3, "eos"),
        step("x", 1, "stop-sequence", "END"),
        step("long", 16, "length"),
      ],
      "4*2=8\n": [step("3+8=11", 5, "length")],
    });
    const ctx = context(backend);
    const root = rootNode(ctx);
    const { steps, budgetExhausted } = await expandNodes(problem, ctx, settings, [{ parent: root, n: 4 }]);
    expect(budgetExhausted).toBe(false);
    expect(requests[0]).toMatchObject({ prompt: problem.prompt, n: 4, maxTokens: 16, stop: ["\n"] });
    expect(requests[0]!.continuation).toBeUndefined();
    expect(steps.map(({ text, done, tokens }) => ({ text, done, tokens }))).toEqual([
      // The delimiter is kept, so the next step continues the text exactly.
      { text: "4*2=8\n", done: false, tokens: 5 },
      { text: "A: 11", done: true, tokens: 3 },
      // A stop string of the caller's own ends the solution.
      { text: "x", done: true, tokens: 1 },
      // Cut at the step cap with path tokens left: continued as the next step.
      { text: "long", done: false, tokens: 16 },
    ]);

    // A parent near the end of its path gets only the tokens it has left, and ends when they are spent.
    const parent: SearchNode = { ...root, text: "4*2=8\n", step: "4*2=8\n", depth: 1, tokens: 95 };
    const next = await expandNodes(problem, ctx, settings, [{ parent, n: 1 }]);
    expect(requests[1]).toMatchObject({ continuation: "4*2=8\n", n: 1, maxTokens: 5 });
    expect(next.steps.map(({ text, done }) => ({ text, done }))).toEqual([{ text: "3+8=11", done: true }]);
  });

  it("draws nothing when the budget leaves less than a token per sample", async () => {
    const { backend, requests } = scriptedBackend({});
    const ctx = createContext({ backend, sampling: {}, tracer: new Tracer(discardTrace) }, { maxTokens: 1 });
    const result = await expandNodes(problem, ctx, settings, [{ parent: rootNode(ctx), n: 2 }]);
    expect(result).toEqual({ steps: [], budgetExhausted: true });
    expect(requests).toEqual([]);
  });
});

describe("scoreSteps", () => {
  it("appends a process verifier's step scores along the path and aggregates them", async () => {
    const verifier: Verifier = {
      name: "step-lengths",
      score: async () => [],
      scoreSteps: async (_problem, _prefix, steps) => steps.map((s) => s.length / 10),
    };
    const { backend } = scriptedBackend({});
    const ctx = context(backend, verifier);
    const root = rootNode(ctx);
    const parent: SearchNode = {
      ...root,
      text: "4*2=8\n",
      depth: 1,
      tokens: 5,
      stepScores: [0.6],
      score: 0.6,
    };
    const nodes = await scoreSteps(problem, ctx, settings, [
      { parent, expansion: 0, text: "3+8=11\n", tokens: 6, finishReason: "stop-sequence", done: false },
      { parent, expansion: 0, text: "A: 11", tokens: 3, finishReason: "eos", done: true },
    ]);
    expect(
      nodes.map(({ text, depth, tokens, stepScores, score, done }) => ({
        text,
        depth,
        tokens,
        stepScores,
        score,
        done,
      })),
    ).toEqual([
      { text: "4*2=8\n3+8=11\n", depth: 2, tokens: 11, stepScores: [0.6, 0.7], score: 0.6, done: false },
      { text: "4*2=8\nA: 11", depth: 2, tokens: 8, stepScores: [0.6, 0.5], score: 0.5, done: true },
    ]);
  });

  it("scores the partial solution as a whole with an outcome verifier", async () => {
    const seen: string[] = [];
    const verifier: Verifier = {
      name: "outcome",
      score: async (_problem, candidates) => {
        seen.push(...candidates.map((c) => c.text));
        return candidates.map((c) => (c.answer ? 1 : 0.25));
      },
    };
    const { backend } = scriptedBackend({});
    const ctx = context(backend, verifier);
    const root = rootNode(ctx);
    const parent: SearchNode = {
      ...root,
      text: "4*2=8\n",
      depth: 1,
      tokens: 5,
      stepScores: [0.9],
      score: 0.9,
    };
    const nodes = await scoreSteps(problem, ctx, settings, [
      { parent, expansion: 0, text: "3+8=11\n", tokens: 6, finishReason: "stop-sequence", done: false },
      { parent, expansion: 0, text: "A: 11", tokens: 3, finishReason: "eos", done: true },
    ]);
    expect(seen).toEqual(["4*2=8\n3+8=11\n", "4*2=8\nA: 11"]);
    expect(nodes.map((n) => [n.stepScores, n.score])).toEqual([
      [[0.25], 0.25],
      [[1], 1],
    ]);
  });
});

describe("selectAnswer", () => {
  const candidates: Candidate[] = [
    { text: "A: 11", answer: "11", finishReason: "eos", tokens: 3, score: 0.2 },
    { text: "A: 14", answer: "14", finishReason: "eos", tokens: 3, score: 0.9 },
    { text: "A: 11.0", answer: "11", finishReason: "eos", tokens: 3, score: 0.3 },
    { text: "no answer", answer: undefined, finishReason: "length", tokens: 9, score: 1 },
  ];

  it("picks by majority, by summed score, or the best score, and names the candidate", () => {
    expect(selectAnswer(problem, candidates, "majority")).toEqual({
      answer: "11",
      tally: [
        { answer: "11", count: 2, score: 2 },
        { answer: "14", count: 1, score: 1 },
      ],
      // The best-scored of the winning answer's candidates.
      chosen: 2,
    });
    expect(selectAnswer(problem, candidates, "weighted-majority")).toMatchObject({ answer: "14", chosen: 1 });
    expect(selectAnswer(problem, candidates, "best")).toEqual({
      answer: "14",
      tally: [
        { answer: "14", count: 1, score: 0.9 },
        { answer: "11", count: 2, score: 0.3 },
      ],
      chosen: 1,
    });
    expect(selectAnswer(problem, [], "best")).toEqual({ answer: undefined, tally: [], chosen: undefined });
  });
});

describe("the MCTS selection rule", () => {
  it("is the mean value plus the UCT bonus, infinite for an unvisited child", () => {
    expect(uct({ visits: 0, valueSum: 0 }, 10, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(uct({ visits: 4, valueSum: 2 }, 16, 0)).toBe(0.5);
    expect(uct({ visits: 4, valueSum: 2 }, 16, 2)).toBeCloseTo(0.5 + 2 * Math.sqrt(Math.log(16) / 4), 12);
  });

  it("descends into an unvisited child first, else exploits or explores by c, ties to the earliest", () => {
    const often = { visits: 8, valueSum: 6 }; // mean 0.75
    const rarely = { visits: 1, valueSum: 0.5 }; // mean 0.5
    const never = { visits: 0, valueSum: 0 };
    expect(selectChild([often, rarely, never], 9, 1)).toBe(never);
    expect(selectChild([often, rarely], 9, 0)).toBe(often);
    expect(selectChild([often, rarely], 9, 1)).toBe(rarely);
    const twin = { visits: 8, valueSum: 6 };
    expect(selectChild([often, twin], 16, 1)).toBe(often);
  });
});
