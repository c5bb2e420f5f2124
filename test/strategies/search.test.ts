/**
 * Step-level search and revision strategies on the bundled model through node-llama-cpp, with
 * the exact step checker as process verifier.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReplayBackend } from "../../src/backends/replay.js";
import type { Backend } from "../../src/core/backend.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { collectTrace, type TraceEvent } from "../../src/core/trace.js";
import { totalTokens } from "../../src/core/types.js";
import {
  createDefaultBackend,
  generateArithmeticProblems,
  run,
  stepCheckerVerifier,
  toProblem,
} from "../../src/index.js";

let backend: Backend;
beforeAll(async () => {
  backend = await createDefaultBackend({ sequences: 16 });
});
afterAll(() => backend.close?.());

const level4 = generateArithmeticProblems({ level: 4, count: 6, seed: 11 }).map(toProblem);
const sampling = (seed: number) => ({ temperature: 1, maxTokens: 96, seed });

/** Every event's parent exists and comes before it: the trace is a tree. */
function expectTree(events: readonly TraceEvent[]): void {
  const ids = new Set<number>();
  for (const event of events) {
    if (event.parent !== undefined) expect(ids.has(event.parent)).toBe(true);
    ids.add(event.id);
  }
}

async function solve(strategy: string, options: Record<string, unknown>, problems = level4) {
  let right = 0;
  let tokens = 0;
  const traces: TraceEvent[][] = [];
  const results = [];
  for (const [i, problem] of problems.entries()) {
    const trace = collectTrace();
    const result = await run({
      problem,
      backend,
      strategy,
      options,
      verifier: stepCheckerVerifier(),
      sampling: sampling(300 + i),
      trace: trace.sink,
    });
    if ((await problem.task.grade(result.answer, problem)).correct) right++;
    tokens += totalTokens(result.usage);
    traces.push(trace.events);
    results.push(result);
  }
  return { accuracy: right / problems.length, tokens: tokens / problems.length, traces, results };
}

describe("step-level search on the bundled model", () => {
  it("beam search keeps n/beamWidth beams by the step checker and finds right answers", async () => {
    const { accuracy, traces, results } = await solve("beam-search", { n: 8, beamWidth: 2 });
    expect(accuracy).toBeGreaterThanOrEqual(5 / 6);
    for (const events of traces) expectTree(events);
    const events = traces[0]!;
    const steps = events.filter((e) => e.kind === "step" && e.text !== "");
    // Each depth draws 8 steps; 4 are kept and 4 pruned until the solutions finish.
    expect(steps.length % 8).toBe(0);
    expect(events.filter((e) => e.kind === "pruned").length).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === "expanded").length).toBeGreaterThan(1);
    const result = results[0]!;
    expect(result.candidates.length).toBeGreaterThanOrEqual(1);
    expect(result.candidates.every((c) => c.finishReason === "eos")).toBe(true);
    expect(result.stopReason).toBe("completed");
    // Children continue their parents' text: every finished solution is a chain of drawn steps.
    const byId = new Map(events.map((e) => [e.id, e]));
    const leaf = steps.find((s) => s.data?.done === true)!;
    let text = "";
    for (let e: TraceEvent | undefined = leaf; e && e.kind === "step"; e = byId.get(e.parent!))
      text = (e.text ?? "") + text;
    expect(result.candidates.map((c) => c.text)).toContain(text);
  });

  it("dvts grows n/beamWidth independent subtrees", async () => {
    const { accuracy, results, traces } = await solve("dvts", { n: 8, beamWidth: 4 });
    expect(accuracy).toBeGreaterThanOrEqual(4 / 6);
    expect(results[0]!.detail).toMatchObject({ subtrees: 2 });
    for (const events of traces) expectTree(events);
  });

  it("lookahead scores steps by greedy rollouts and spends their tokens", async () => {
    const problems = level4.slice(0, 3);
    const plain = await solve("beam-search", { n: 4, beamWidth: 2 }, problems);
    const ahead = await solve("lookahead", { n: 4, beamWidth: 2, lookahead: 2 }, problems);
    expect(ahead.accuracy).toBeGreaterThanOrEqual(2 / 3);
    expect(ahead.tokens).toBeGreaterThan(plain.tokens);
    expect(ahead.traces[0]!.some((e) => e.kind === "scored" && e.data?.lookahead !== undefined)).toBe(true);
  });

  it("mcts runs UCT simulations with PRM values or with rollouts", async () => {
    const problems = level4.slice(0, 3);
    const prm = await solve("mcts", { simulations: 4, branching: 3 }, problems);
    expect(prm.accuracy).toBeGreaterThanOrEqual(2 / 3);
    expect(prm.results[0]!.detail).toMatchObject({ simulations: 4 });
    for (const events of prm.traces) expectTree(events);
    const rollout = await solve("mcts", { simulations: 2, branching: 2, value: "rollout" }, problems);
    expect(rollout.results.every((r) => r.candidates.length > 0)).toBe(true);
    expect(rollout.traces[0]!.some((e) => e.kind === "scored" && e.data?.rollout === true)).toBe(true);
  });

  it("stops at the token budget with what it has", async () => {
    const result = await run({
      problem: level4[0]!,
      backend,
      strategy: "beam-search",
      options: { n: 8, beamWidth: 2 },
      verifier: stepCheckerVerifier(),
      sampling: sampling(1),
      budget: { maxTokens: 150 },
    });
    expect(result.stopReason).toBe("budget");
    expect(totalTokens(result.usage)).toBeLessThan(150 + 60);
    expect(result.candidates.length).toBeGreaterThan(0);
  });

  it("refuses n not divisible by beamWidth, naming the field", async () => {
    const attempt = (strategy: string) =>
      run({
        problem: level4[0]!,
        backend,
        strategy,
        options: { n: 6, beamWidth: 4 },
        verifier: stepCheckerVerifier(),
      });
    for (const strategy of ["beam-search", "dvts", "lookahead"]) {
      await expect(attempt(strategy)).rejects.toThrow(InvalidInputError);
      await expect(attempt(strategy)).rejects.toThrow(
        /strategy options\.beamWidth: n \(6\) must be divisible by beamWidth \(4\)/,
      );
    }
  });

  it("refuses a backend that cannot continue a partial answer, naming the strategy", async () => {
    const problem = level4[0]!;
    const replay = createReplayBackend({
      rows: [{ id: problem.id, prompt: problem.prompt as string, samples: [{ text: "A: 1" }] }],
    });
    for (const strategy of ["beam-search", "dvts", "lookahead", "mcts"]) {
      const attempt = run({ problem, backend: replay, strategy, verifier: stepCheckerVerifier() });
      await expect(attempt).rejects.toThrow(InvalidInputError);
      await expect(attempt).rejects.toThrow(new RegExp(`strategy "${strategy}" extends partial solutions`));
    }
  });
});

describe("revision strategies on the bundled model", () => {
  // The model cannot follow instructions: these run correctly, without gains.
  const problems = generateArithmeticProblems({ level: 2, count: 3, seed: 5 }).map(toProblem);

  it("self-refine answers, critiques and refines, and stops by its rule", async () => {
    for (const [i, problem] of problems.entries()) {
      const trace = collectTrace();
      const result = await run({
        problem,
        backend,
        strategy: "self-refine",
        options: { maxRounds: 2 },
        sampling: sampling(i),
        trace: trace.sink,
      });
      expect(result.candidates.length).toBeGreaterThanOrEqual(1);
      expect(result.candidates.length).toBeLessThanOrEqual(3);
      expect(result.answer).toBeDefined();
      // The answer is the chosen candidate's.
      expect(result.answer).toBe(problem.task.extractAnswer(result.candidates[result.chosen!]!.text));
      expect(typeof result.detail?.stoppedBecause).toBe("string");
      expectTree(trace.events);
    }
  });

  it("revisions run chains of attempts that see earlier ones, within the model's context", async () => {
    for (const [i, problem] of problems.entries()) {
      const trace = collectTrace();
      const result = await run({
        problem,
        backend,
        strategy: "revisions",
        options: { n: 4, chains: 2, window: 2 },
        sampling: sampling(i),
        trace: trace.sink,
      });
      expect(result.candidates).toHaveLength(4);
      expect(result.answer).toBeDefined();
      expect(result.answer).toBe(problem.task.extractAnswer(result.candidates[result.chosen!]!.text));
      expect(trace.events.filter((e) => e.kind === "revised")).toHaveLength(2);
      expectTree(trace.events);
    }
    await expect(
      run({ problem: problems[0]!, backend, strategy: "revisions", options: { n: 5, chains: 2 } }),
    ).rejects.toThrow(/strategy options\.chains: n \(5\) must be divisible by chains \(2\)/);
  });

  it("iterative deepening stops early when the samples agree and grows the budget when not", async () => {
    const easy = await run({
      problem: problems[0]!,
      backend,
      strategy: "iterative-deepening",
      options: { start: 4, maxN: 32, agreement: 0.7 },
      sampling: { temperature: 0.3, seed: 1 },
    });
    expect(easy.stopReason).toBe("early-stop");
    expect(easy.candidates.length).toBe(4);
    const hard = await run({
      problem: generateArithmeticProblems({ level: 5, count: 1, seed: 9 }).map(toProblem)[0]!,
      backend,
      strategy: "iterative-deepening",
      options: { start: 2, maxN: 16, agreement: 0.99, minVotes: 16 },
      sampling: sampling(2),
    });
    expect(hard.detail).toMatchObject({ rounds: 4, samples: 16 });
    expect(hard.stopReason).toBe("completed");
  });
});
