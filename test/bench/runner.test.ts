/**
 * The bench runs strategies: every configuration through `run()`, with draws shared through the
 * store, on the bundled model (real llama.cpp), a replay file and a loopback OpenAI server.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createDefaultBackend } from "../../src/backends/embedded.js";
import type { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import { loadDataset } from "../../src/bench/datasets.js";
import type { RecipeInput } from "../../src/bench/recipe.js";
import { writeReplayRows } from "../../src/bench/replay-format.js";
import { resumeBench, startBench } from "../../src/bench/runner.js";
import { AbortedError } from "../../src/core/errors.js";
import { totalTokens } from "../../src/core/types.js";
import { functionVerifier } from "../../src/core/verifier.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";
import { createStrategyRegistry } from "../../src/strategies/registry.js";
import { drawCandidates } from "../../src/strategies/sampling.js";
import { defineStrategy } from "../../src/strategies/strategy.js";
import { tallyAnswers } from "../../src/strategies/vote.js";
import { loadHumanEval } from "../../src/tasks/humaneval.js";
import { mathTask } from "../../src/tasks/math.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

/** A strategy defined by user code, not in src/strategies: the bench reaches it by name in its registry. */
const withShortestOfN = createStrategyRegistry([
  defineStrategy({
    name: "shortest-of-n",
    description: "Sample n and answer with the shortest solution that has an answer.",
    options: z.object({ n: z.number().int().min(1).default(3) }).strict(),
    needsVerifier: false,
    async run(problem, ctx, { n }) {
      const { candidates, stopReason } = await drawCandidates(problem, ctx, n);
      const answered = candidates.filter((c) => c.answer !== undefined);
      const shortest = answered.sort((a, b) => a.text.length - b.text.length)[0];
      return {
        answer: shortest?.answer,
        candidates,
        tally: tallyAnswers(candidates, problem.task),
        chosen: shortest ? candidates.indexOf(shortest) : undefined,
        stopReason,
      };
    },
  }),
]);

let dir: string;
let store: RunStore;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-runner-"));
  store = openStore(join(dir, "db.sqlite"));
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A replay file of `problems` MATH-500 problems with 8 recorded samples each. */
async function mathReplayFile(name: string, problems: number, seed: number): Promise<string> {
  const rows = await loadDataset({
    name: "math500",
    path: "../shared/datasets/math500-test.jsonl",
    limit: problems,
  });
  const path = join(dir, name);
  writeFileSync(path, writeReplayRows(makeMathReplayRows(rows, { samples: 8, seed })));
  return path;
}

const everyStrategy: RecipeInput["strategies"] = [
  "single",
  "self-consistency",
  "best-of-n",
  "weighted-majority",
  { name: "shortest-of-n", grid: { n: [2, 4] } },
];

describe("bench on the bundled model", () => {
  let backend: LlamaCppBackend;
  beforeAll(async () => {
    backend = await createDefaultBackend({ sequences: 4 });
  });
  afterAll(async () => {
    await backend.close();
  });

  it("runs every strategy, built-in or registered by user code, by run(), sharing one set of draws", async () => {
    const { run, metrics } = await startBench(
      {
        dataset: { name: "arithmetic", levels: [2, 4], perLevel: 3, seed: 1 },
        strategies: everyStrategy,
        verifier: "step-checker",
        n: [1, 2, 4],
        sampling: { temperature: 1, max_tokens: 96 },
        metrics: { bootstrapResamples: 100 },
      },
      { store, backend, runId: "tiny", strategies: withShortestOfN },
    );
    expect(run.status).toBe("completed");
    const results = store.getResults("tiny");
    const configs = [...new Set(results.map((r) => r.config))].sort();
    expect(configs).toEqual(
      [
        "single",
        "self-consistency n=1",
        "self-consistency n=2",
        "self-consistency n=4",
        "best-of-n n=1",
        "best-of-n n=2",
        "best-of-n n=4",
        "weighted-majority n=1",
        "weighted-majority n=2",
        "weighted-majority n=4",
        "shortest-of-n n=2",
        "shortest-of-n n=4",
      ].sort(),
    );

    expect(results).toHaveLength(6 * configs.length);
    // Every configuration asked for the same samples, so the store holds 4 per problem, not 26.
    expect(store.draws.count("tiny")).toBe(6 * 4);
    for (const r of results.filter((r) => r.config === "self-consistency n=4")) {
      expect(r.candidates).toHaveLength(4);
      // Tokens really spent: every candidate's generated tokens, and the prompts on top.
      expect(r.usage.completionTokens).toBe(r.candidates.reduce((sum, c) => sum + c.tokens, 0));
      expect(r.usage.promptTokens).toBeGreaterThan(0);
      expect(r.trace.some((e) => e.kind === "voted")).toBe(true);
    }
    // The same draws: best-of-n n=4 saw exactly self-consistency n=4's candidates, scored.
    const sc = results.find((r) => r.config === "self-consistency n=4")!;
    const bon = results.find((r) => r.config === "best-of-n n=4" && r.problemId === sc.problemId)!;
    expect(bon.candidates.map((c) => c.text)).toEqual(sc.candidates.map((c) => c.text));
    expect(bon.candidates.every((c) => c.score !== undefined)).toBe(true);

    const accuracy = metrics.filter((m) => m.metric === "accuracy" && m.level === undefined);
    expect(accuracy.map((m) => m.strategy).sort()).toEqual(configs);
    for (const m of accuracy) {
      const own = results.filter((r) => r.config === m.strategy);
      expect(m.value).toBeCloseTo(own.filter((r) => r.correct).length / own.length, 12);
      expect(m.meanTotalTokens).toBeCloseTo(
        own.reduce((s, r) => s + totalTokens(r.usage), 0) / own.length,
        9,
      );
      expect(m.meanTotalTokens!).toBeGreaterThan(m.meanTokens);
    }
    const oracle4 = metrics.find((m) => m.strategy === "oracle" && m.k === 4 && m.level === undefined)!;
    const bon4 = accuracy.find((m) => m.strategy === "best-of-n n=4")!;
    expect(oracle4.value).toBeGreaterThanOrEqual(bon4.value);
    expect(metrics.some((m) => m.level === 4 && m.strategy === "shortest-of-n n=4")).toBe(true);
  });

  it("computes the oracle from whole-solution draws, not from a tree search's step draws", async () => {
    const { metrics } = await startBench(
      {
        dataset: { name: "arithmetic", levels: [3], perLevel: 3, seed: 2 },
        strategies: [
          { name: "self-consistency", grid: { n: [4] } },
          { name: "beam-search", options: { n: 8 } },
        ],
        verifier: "step-checker",
        sampling: { temperature: 1, max_tokens: 96 },
        metrics: { bootstrapResamples: 50 },
      },
      { store, backend, runId: "with-search" },
    );
    const overall = metrics.filter((m) => m.level === undefined);
    const oracle = overall.filter((m) => m.strategy === "oracle");
    expect(oracle.map((m) => m.k)).toEqual([4]);
    // With 4 whole samples drawn, pass@4 is at least what voting over those 4 reaches.
    const voting = overall.find((m) => m.strategy === "self-consistency n=4" && m.metric === "accuracy")!;
    expect(oracle[0]!.value).toBeGreaterThanOrEqual(voting.value);
    expect(oracle[0]!.meanTokens).toBeGreaterThan(20);
  });

  it("gives the same results for the same seed, in a new run on the same store", async () => {
    await startBench(
      {
        dataset: { name: "arithmetic", levels: [2, 4], perLevel: 3, seed: 1 },
        strategies: everyStrategy,
        verifier: "step-checker",
        n: [1, 2, 4],
        sampling: { temperature: 1, max_tokens: 96 },
        metrics: { bootstrapResamples: 100 },
      },
      { store, backend, runId: "tiny-again", strategies: withShortestOfN },
    );
    const answers = (runId: string) =>
      store
        .getResults(runId)
        .map((r) => [r.problemId, r.config, r.answer, r.correct, r.usage.completionTokens]);
    expect(answers("tiny-again")).toEqual(answers("tiny"));
  });
});

describe("bench on a replay file", () => {
  it("runs the strategies over the recorded samples, the problems taken from the file itself", async () => {
    const path = await mathReplayFile("math.jsonl", 5, 4);
    const backend = createReplayBackend({ path });
    const { metrics } = await startBench(
      {
        dataset: { name: "replay", path },
        task: "math",
        strategies: [
          ...everyStrategy,
          { name: "best-of-n", label: "best-of-n (reward)", verifier: "reward" },
        ],
        verifier: "reward",
        n: [1, 4, 8],
      },
      { store, backend, runId: "replayed", strategies: withShortestOfN },
    );
    const results = store.getResults("replayed");
    expect(new Set(results.map((r) => r.problemId)).size).toBe(5);
    // With recorded rewards, best-of-n at the full pool answers with the highest-reward sample.
    for (const r of results.filter((r) => r.config === "best-of-n n=8")) {
      const row = backend.rows.find((x) => x.id === r.problemId)!;
      const best = row.samples.reduce((a, b) => (b.reward! > a.reward! ? b : a));
      expect(r.candidates.find((c) => c.text === best.text)?.score).toBe(best.reward);
      expect(r.answer).toBe(mathTask.extractAnswer(best.text));
    }
    const voting = results.filter((r) => r.config === "self-consistency n=8");
    const accuracy = metrics.find((m) => m.strategy === "self-consistency n=8" && m.metric === "accuracy")!;
    expect(accuracy.value).toBeCloseTo(voting.filter((r) => r.correct).length / voting.length, 12);
  });
});

describe("usage of shared draws", () => {
  it("charges a configuration what it would cost run alone, whatever ran before it", async () => {
    const path = await mathReplayFile("order.jsonl", 3, 6);
    const usage = async (runId: string, grid: number[]) => {
      await startBench(
        {
          dataset: { name: "replay", path },
          task: "math",
          strategies: [{ name: "self-consistency", grid: { n: grid } }],
        },
        { store, backend: createReplayBackend({ path }), runId },
      );
      return Object.fromEntries(
        store
          .getResults(runId)
          .map((r) => [
            `${r.problemId} ${r.config}`,
            [r.usage.promptTokens, r.usage.completionTokens, r.usage.calls],
          ]),
      );
    };
    const upward = await usage("order-up", [1, 2, 4, 8]);
    const downward = await usage("order-down", [8, 4, 2, 1]);
    expect(downward).toEqual(upward);
    // n=1 costs one call with the prompt once, as a run of n=1 alone does.
    const alone = await usage("alone", [1]);
    for (const [key, value] of Object.entries(alone)) expect(upward[key]).toEqual(value);
  });
});

describe("bench against a loopback server", () => {
  const dataset = { name: "arithmetic" as const, levels: [1, 2], perLevel: 3, seed: 5 };
  const recipe: RecipeInput = {
    dataset,
    strategies: ["single", "self-consistency", "weighted-majority"],
    verifier: "shows-work",
    n: [1, 2, 4, 8],
    seed: 11,
    concurrency: 2,
    sampling: { max_tokens: 32 },
    metrics: { bootstrapResamples: 200 },
  };
  const verifier = functionVerifier("shows-work", (_problem, candidate) =>
    candidate.text.includes("=") ? 1 : 0,
  );
  let server: OpenAITestServer;
  beforeAll(async () => {
    server = await startOpenAITestServer({ respond: arithmeticResponder(dataset) });
  });
  afterAll(async () => {
    await server.close();
  });
  const backend = () => createOpenAIBackend({ baseURL: server.url, model: "test-model", mode: "completion" });
  const snapshot = (runId: string) => ({
    results: store.getResults(runId).map(({ problemId, config, answer, correct, candidates, usage }) => ({
      problemId,
      config,
      answer,
      correct,
      texts: candidates.map((c) => [c.text, c.score]),
      tokens: [usage.promptTokens, usage.completionTokens, usage.calls],
    })),
    metrics: store.getMetrics(runId),
  });

  it("asks the server only for samples not drawn yet", async () => {
    const before = server.requests.length;
    await startBench(recipe, { store, backend: backend(), verifier, runId: "http" });
    // Per problem: n=1 draws sample 0, n=2 sample 1, n=4 samples 2-3, n=8 samples 4-7; the
    // other strategies are served from the store.
    expect(server.requests.length - before).toBe(6 * 4);
    expect(server.requests.slice(before).reduce((sum, r) => sum + Number(r.body.n ?? 1), 0)).toBe(6 * 8);
    expect(store.draws.count("http")).toBe(6 * 8);
    expect(server.maxInFlight).toBeLessThanOrEqual(2);
  });

  it("stops on abort and resumes to exactly the uninterrupted result, drawing nothing twice", async () => {
    const controller = new AbortController();
    await expect(
      startBench(recipe, {
        store,
        backend: backend(),
        verifier,
        runId: "aborted",
        signal: controller.signal,
        onProgress: (p) => {
          if (p.resultsDone >= 20) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(store.getRun("aborted").status).toBe("aborted");
    const drawnBefore = store.draws.count("aborted");
    expect(drawnBefore).toBeGreaterThan(0);
    expect(drawnBefore).toBeLessThan(48);
    const before = server.requests.length;
    const { run } = await resumeBench("aborted", { store, backend: backend(), verifier });
    expect(run.status).toBe("completed");
    const asked = server.requests.slice(before).reduce((sum, r) => sum + Number(r.body.n ?? 1), 0);
    expect(asked).toBe(48 - drawnBefore);
    expect(snapshot("aborted")).toEqual(snapshot("http"));
  });

  it("marks a run failed when the backend fails, and a resume completes it", async () => {
    let failing = true;
    const flaky = await startOpenAITestServer({
      respond: arithmeticResponder(dataset),
      faults: (n) =>
        failing && n === 4 ? { kind: "status", status: 400, message: "bad request" } : undefined,
    });
    try {
      const flakyBackend = () =>
        createOpenAIBackend({ baseURL: flaky.url, model: "test-model", mode: "completion" });
      await expect(
        startBench(recipe, { store, backend: flakyBackend(), verifier, runId: "failed" }),
      ).rejects.toThrow(/bad request/);
      const run = store.getRun("failed");
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(/bad request/);
      failing = false;
      await resumeBench("failed", { store, backend: flakyBackend(), verifier });
      expect(snapshot("failed")).toEqual(snapshot("http"));
    } finally {
      await flaky.close();
    }
  });
});

describe("bench on code problems", () => {
  it("keeps HumanEval's tests from the dataset through the store to the grader, which runs them", async () => {
    const rows = (await loadHumanEval("../shared/datasets/HumanEval.jsonl.gz")).slice(0, 3);
    // Right for every problem but the second, whose answer returns nothing useful.
    const server = await startOpenAITestServer({
      respond: (request) => {
        const row = rows.find((r) => request.prompt.includes(r.prompt.trim()))!;
        const body = row === rows[1] ? "    return None\n" : row.canonical_solution;
        return `Here it is:\n\`\`\`python\n${row.prompt}${body}\`\`\``;
      },
    });
    try {
      await startBench(
        { dataset: { name: "humaneval", limit: 3 }, strategies: ["single"], sampling: { max_tokens: 400 } },
        { store, backend: createOpenAIBackend({ baseURL: server.url, model: "coder" }), runId: "code" },
      );
      const stored = store.getProblems("code");
      expect(stored.map((p) => p.meta?.entry_point)).toEqual(rows.map((r) => r.entry_point));
      const results = store.getResults("code");
      expect(results.map((r) => r.correct)).toEqual([true, false, true]);
      expect(String(results[1]!.detail?.grade)).toMatch(/Error|assert/i);
    } finally {
      await server.close();
    }
  });
});
