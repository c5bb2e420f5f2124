/**
 * Particle filtering: its resampling rules, then the strategy in front of a loopback
 * OpenAI-compatible server whose first steps are mostly wrong, then on the bundled model with
 * the exact and the noisy step checker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import type { Backend } from "../../src/core/backend.js";
import { seededRandom } from "../../src/core/random.js";
import { collectTrace, type TraceEvent } from "../../src/core/trace.js";
import { totalTokens } from "../../src/core/types.js";
import { createDefaultBackend, run, stepCheckerVerifier } from "../../src/index.js";
import { resampleIndices, resamplingProbabilities } from "../../src/strategies/particle-filtering.js";
import {
  formatStep,
  generateArithmeticProblems,
  type Operator,
  parseArithmeticPrompt,
  solveCanonical,
  toProblem,
} from "../../src/tasks/arithmetic.js";
import { checkArithmeticSolution } from "../../src/verifiers/step-checker.js";
import {
  type OpenAITestServer,
  startOpenAITestServer,
  type TestRequestView,
} from "../support/openai-test-server.js";

const copiesOf = (indices: readonly number[], size: number) =>
  Array.from({ length: size }, (_, i) => indices.filter((j) => j === i).length);

describe("resampling", () => {
  it("systematic resampling gives each particle floor(n·p) or ceil(n·p) copies", () => {
    const probabilities = [0.05, 0.4, 0.3, 0.25];
    for (let seed = 0; seed < 50; seed++) {
      const copies = copiesOf(resampleIndices(probabilities, 8, "systematic", seededRandom(seed)), 4);
      expect(copies.reduce((a, b) => a + b, 0)).toBe(8);
      copies.forEach((c, i) => {
        expect(c).toBeGreaterThanOrEqual(Math.floor(8 * probabilities[i]!));
        expect(c).toBeLessThanOrEqual(Math.ceil(8 * probabilities[i]!));
      });
    }
  });

  it("multinomial resampling draws in proportion to the weights", () => {
    const probabilities = [0.1, 0.6, 0.3];
    const copies = copiesOf(resampleIndices(probabilities, 20_000, "multinomial", seededRandom(3)), 3);
    for (const [i, c] of copies.entries())
      expect(Math.abs(c / 20_000 - probabilities[i]!)).toBeLessThan(0.02);
  });

  it("weights: log-odds, tempered scores or likelihoods; the temperature flattens them", () => {
    const sharp = resamplingProbabilities([1, 0, 0.5], "logit", 1);
    expect(sharp[0]).toBeGreaterThan(0.999);
    const flat = resamplingProbabilities([1, 0, 0.5], "logit", 100);
    expect(flat[0]).toBeLessThan(0.5);
    expect(flat[1]).toBeGreaterThan(0.2);
    const softmax = resamplingProbabilities([1, 0], "softmax", 1);
    expect(softmax[0]! / softmax[1]!).toBeCloseTo(Math.E, 6);
    const likelihood = resamplingProbabilities([0.6, 0.2], "likelihood", 1);
    expect(likelihood[0]).toBeCloseTo(0.75, 12);
    expect(likelihood[1]).toBeCloseTo(0.25, 12);
    // Every particle judged wrong: nothing to prefer, the draw is uniform.
    expect(resamplingProbabilities([0, 0], "likelihood", 1)).toEqual([0.5, 0.5]);
  });
});

function splitExpression(expression: string): [number[], Operator[]] {
  const parts = expression.split(/([+\-*])/);
  return [parts.filter((_, i) => i % 2 === 0).map(Number), parts.filter((_, i) => i % 2 === 1) as Operator[]];
}

/** A small deterministic hash (FNV-1a). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A model of the arithmetic task that mostly goes wrong at the start: from the bare question,
 * three samples in four (by their seed) write the first step's result one too high and then
 * finish correctly from it, so they all reach the same wrong answer; the others, and every
 * continuation of a partial solution, reduce correctly from what is written.
 */
function mostlyWrongStart(request: TestRequestView, index: number): string {
  const questionAt = request.prompt.lastIndexOf("Q: ");
  const promptEnd = request.prompt.indexOf("\n", questionAt) + 1;
  const expression = parseArithmeticPrompt(request.prompt.slice(questionAt, promptEnd))!;
  const partial = request.prompt.slice(promptEnd);
  const current = checkArithmeticSolution(expression, partial).steps.at(-1)?.expression ?? expression;
  const [nums, ops] = splitExpression(current);
  const steps = solveCanonical(nums, ops) ?? [];
  if (steps.length === 0) return `A: ${nums[0]}`;
  const slip = partial === "" && hash(`${request.seed}|${index}`) % 4 !== 0 ? 1 : 0;
  const first = { ...steps[0]!, result: steps[0]!.result + slip };
  const at = ops.includes("*") ? ops.indexOf("*") : 0;
  nums.splice(at, 2, first.result);
  ops.splice(at, 1);
  const rest = solveCanonical(nums, ops) ?? [];
  const lines = [first, ...rest].map(formatStep);
  return `${lines.map((l) => `${l}\n`).join("")}A: ${rest.at(-1)?.result ?? first.result}`;
}

describe("particle filtering over an OpenAI-compatible server", () => {
  let llm: OpenAITestServer;
  const [item] = generateArithmeticProblems({ level: 3, count: 1, seed: 4 });
  const problem = toProblem(item!);
  beforeAll(async () => {
    llm = await startOpenAITestServer({ respond: mostlyWrongStart });
  });
  afterAll(() => llm.close());
  const backend = () => createOpenAIBackend({ baseURL: llm.url, model: "test-model", mode: "completion" });

  it("resamples away the wrong first steps that outvote the right ones in plain sampling", async () => {
    const sampling = { temperature: 1, maxTokens: 200, seed: 9 };
    const majority = await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 8 },
      sampling,
    });
    expect(majority.answer).not.toBe(item!.reference);

    const before = llm.requests.length;
    const trace = collectTrace();
    const result = await run({
      problem,
      backend: backend(),
      strategy: "particle-filtering",
      options: { n: 8 },
      verifier: stepCheckerVerifier(),
      sampling,
      trace: trace.sink,
    });
    expect(result.answer).toBe(item!.reference);
    expect(result.candidates).toHaveLength(8);
    for (const candidate of result.candidates)
      expect(checkArithmeticSolution(item!.expression, candidate.text).correct).toBe(true);
    // The wrong first steps were drawn, then resampled away.
    const wrongFirst = trace.events.filter((e) => e.kind === "step" && e.data?.depth === 1 && e.score === 0);
    expect(wrongFirst.length).toBeGreaterThan(4);
    const pruned = new Set(
      trace.events.filter((e) => e.kind === "pruned" && e.text === "resampled away").map((e) => e.parent),
    );
    for (const step of wrongFirst) expect(pruned.has(step.id)).toBe(true);
    // Eight first steps from the bare question, then continuations of partial solutions.
    const sent = llm.requests.slice(before);
    const firstRound = sent.filter((r) => r.body.prompt === problem.prompt);
    expect(firstRound.reduce((sum, r) => sum + (r.body.n ?? 1), 0)).toBe(8);
    const later = sent.filter((r) => r.body.prompt !== problem.prompt);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((r) => (r.body.prompt as string).startsWith(problem.prompt as string))).toBe(true);
  });

  it("at a high temperature the weights barely matter and wrong particles survive", async () => {
    const result = await run({
      problem,
      backend: backend(),
      strategy: "particle-filtering",
      options: { n: 8, temperature: 100, select: "majority" },
      verifier: stepCheckerVerifier(),
      sampling: { temperature: 1, maxTokens: 200, seed: 9 },
    });
    const wrong = result.candidates.filter((c) => !checkArithmeticSolution(item!.expression, c.text).correct);
    expect(wrong.length).toBeGreaterThan(0);
  });
});

/** Every event's parent exists and comes before it: the trace is a tree. */
function expectTree(events: readonly TraceEvent[]): void {
  const ids = new Set<number>();
  for (const event of events) {
    if (event.parent !== undefined) expect(ids.has(event.parent)).toBe(true);
    ids.add(event.id);
  }
}

describe("particle filtering on the bundled model", () => {
  let model: Backend;
  beforeAll(async () => {
    model = await createDefaultBackend({ sequences: 16 });
  });
  afterAll(() => model.close?.());
  const problems = generateArithmeticProblems({ level: 4, count: 3, seed: 11 }).map(toProblem);

  it.each([
    ["exact", 0],
    ["noisy", 0.2],
  ])("runs with the %s step checker and answers from finished particles", async (_, noise) => {
    let right = 0;
    for (const [i, p] of problems.entries()) {
      const trace = collectTrace();
      const result = await run({
        problem: p,
        backend: model,
        strategy: "particle-filtering",
        options: { n: 8, resampling: noise > 0 ? "systematic" : "multinomial" },
        verifier: stepCheckerVerifier({ noise, seed: 1 }),
        sampling: { temperature: 1, maxTokens: 96, seed: 300 + i },
        trace: trace.sink,
      });
      if ((await p.task.grade(result.answer, p)).correct) right++;
      expectTree(trace.events);
      expect(result.candidates).toHaveLength(8);
      expect(result.candidates.every((c) => c.finishReason === "eos")).toBe(true);
      expect(result.detail?.resamplings).toBeGreaterThan(0);
      expect(result.stopReason).toBe("completed");
    }
    if (noise === 0) expect(right).toBeGreaterThanOrEqual(2);
  });

  it("stops at the token budget with the particles it has", async () => {
    const result = await run({
      problem: problems[0]!,
      backend: model,
      strategy: "particle-filtering",
      options: { n: 8 },
      verifier: stepCheckerVerifier(),
      sampling: { temperature: 1, maxTokens: 96, seed: 1 },
      budget: { maxTokens: 150 },
    });
    expect(result.stopReason).toBe("budget");
    expect(totalTokens(result.usage)).toBeLessThan(150 + 60);
    expect(result.candidates.length).toBeGreaterThan(0);
  });

  it("refuses a backend that cannot continue a partial answer", async () => {
    const p = problems[0]!;
    const replay = createReplayBackend({
      rows: [{ id: p.id, prompt: p.prompt as string, samples: [{ text: "A: 1" }] }],
    });
    const attempt = run({
      problem: p,
      backend: replay,
      strategy: "particle-filtering",
      verifier: stepCheckerVerifier(),
    });
    await expect(attempt).rejects.toThrow(/strategy "particle-filtering" extends partial solutions/);
  });
});
