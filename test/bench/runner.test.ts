import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import type { RecipeInput } from "../../src/bench/recipe.js";
import { resumeBench, startBench } from "../../src/bench/runner.js";
import { AbortedError } from "../../src/core/errors.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";
import { functionScorer } from "../../src/verifiers/scorer.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const dataset = { name: "arithmetic" as const, levels: [1, 2], perLevel: 3, seed: 5 };

const recipe: RecipeInput = {
  dataset,
  strategies: ["single", "self-consistency", "weighted-majority"],
  scorer: "shows-work",
  n: [1, 2, 4, 8],
  seed: 11,
  concurrency: 2,
  chunkSize: 3,
  sampling: { max_tokens: 32 },
  metrics: { bootstrapResamples: 200, subsetDraws: 50 },
};
const scorer = functionScorer("shows-work", (_problem, candidate) => (candidate.text.includes("=") ? 1 : 0));

let server: OpenAITestServer;
let dir: string;
let store: RunStore;
beforeAll(async () => {
  server = await startOpenAITestServer({ respond: arithmeticResponder(dataset) });
  dir = mkdtempSync(join(tmpdir(), "reckon-runner-"));
  store = openStore(join(dir, "db.sqlite"));
});
afterAll(async () => {
  store.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const backend = () => createOpenAIBackend({ baseURL: server.url, model: "test-model", mode: "completion" });
const snapshot = (runId: string) => ({
  samples: store.getSamples(runId).map(({ problemId, index, text, answerKey, correct, score }) => ({
    problemId,
    index,
    text,
    answerKey,
    correct,
    score,
  })),
  metrics: store.getMetrics(runId),
});

describe("bench runner", () => {
  it("draws one pool per problem, stores every sample and reports each strategy at each budget", async () => {
    const before = server.requests.length;
    const { run, metrics } = await startBench(recipe, { store, backend: backend(), scorer, runId: "full" });
    expect(run.status).toBe("completed");
    const samples = store.getSamples("full");
    expect(samples).toHaveLength(6 * 8);
    for (const p of store.getProblems("full")) {
      const own = samples.filter((s) => s.problemId === p.problemId);
      expect(own.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const s of own) {
        expect(s.correct).toBe(s.answer === p.reference);
        expect(s.score).toBe(s.text.includes("=") ? 1 : 0);
        // Equal answers share one key; no answer, no key.
        expect(s.answerKey).toBe(s.answer);
      }
    }
    // Chunks of 3 for a pool of 8: 3 calls per problem, at most `concurrency` in flight.
    expect(server.requests.length - before).toBe(6 * 3);
    expect(server.maxInFlight).toBeLessThanOrEqual(2);

    const overall = (strategy: string, k: number) =>
      metrics.find((m) => m.strategy === strategy && m.k === k && m.level === undefined);
    expect(metrics.filter((m) => m.strategy === "single").map((m) => m.k)).toEqual([1, 1, 1]);
    for (const k of [1, 2, 4, 8]) {
      const oracle = overall("oracle", k)!;
      expect(oracle.value).toBeGreaterThanOrEqual(overall("self-consistency", k)!.value);
      // wmaj@k is a Monte Carlo estimate below the full pool: allow its sampling noise.
      const slack = k === 8 ? 0 : 0.02;
      expect(oracle.value + slack).toBeGreaterThanOrEqual(overall("weighted-majority", k)!.value);
      expect(oracle.ciLow).toBeLessThanOrEqual(oracle.value);
      expect(oracle.problems).toBe(6);
    }
    expect(overall("oracle", 8)!.value).toBeGreaterThanOrEqual(overall("oracle", 1)!.value);
    expect(overall("single", 1)!.value).toBeCloseTo(overall("self-consistency", 1)!.value, 12);
    // Per-level rows too, since arithmetic problems carry a level.
    expect(metrics.some((m) => m.level === 2 && m.strategy === "self-consistency")).toBe(true);
  });

  it("draws the same samples and metrics for the same seed, other samples for another", async () => {
    await startBench(recipe, { store, backend: backend(), scorer, runId: "again" });
    expect(snapshot("again")).toEqual(snapshot("full"));
    await startBench({ ...recipe, seed: 12 }, { store, backend: backend(), scorer, runId: "other-seed" });
    expect(snapshot("other-seed").samples).not.toEqual(snapshot("full").samples);
  });

  it("stops on abort and resumes to exactly the uninterrupted result", async () => {
    const controller = new AbortController();
    const interrupted = startBench(recipe, {
      store,
      backend: backend(),
      scorer,
      runId: "aborted",
      signal: controller.signal,
      onProgress: (p) => {
        if (p.samplesDone >= 12) controller.abort();
      },
    });
    await expect(interrupted).rejects.toBeInstanceOf(AbortedError);
    expect(store.getRun("aborted").status).toBe("aborted");
    const partial = store.countSamples("aborted");
    expect(partial).toBeGreaterThanOrEqual(12);
    expect(partial).toBeLessThan(48);

    const { run } = await resumeBench("aborted", { store, backend: backend(), scorer });
    expect(run.status).toBe("completed");
    expect(snapshot("aborted")).toEqual(snapshot("full"));
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
        startBench(recipe, { store, backend: flakyBackend(), scorer, runId: "failed" }),
      ).rejects.toThrow(/bad request/);
      const run = store.getRun("failed");
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(/bad request/);
      failing = false;
      await resumeBench("failed", { store, backend: flakyBackend(), scorer });
      expect(snapshot("failed")).toEqual(snapshot("full"));
    } finally {
      await flaky.close();
    }
  });
});
