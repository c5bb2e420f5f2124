/**
 * A reasoning model's thinking in the store: kept with each draw, served back by the sample
 * cache (so that a resumed run sees what an uninterrupted one saw, a verifier that reads the
 * thinking included), exported to a replay file and read back by the replay backend; and a
 * database written before thinking was kept upgrades in place and reads with none.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultBackend } from "../../src/backends/embedded.js";
import type { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { createReplayBackend } from "../../src/backends/replay.js";
import { parseReplayRows, type ReplayRow, writeReplayRows } from "../../src/backends/replay-format.js";
import type { RecipeInput } from "../../src/bench/recipe.js";
import { resumeBench, startBench } from "../../src/bench/runner.js";
import { runToReplayRows } from "../../src/cli/export.js";
import { forwardBackend, wrapBackend } from "../../src/core/backend.js";
import { requestDigest } from "../../src/core/draws.js";
import { AbortedError } from "../../src/core/errors.js";
import { deriveSeed, seededRandom } from "../../src/core/random.js";
import { functionVerifier } from "../../src/core/verifier.js";
import { migrations } from "../../src/store/migrations.js";
import { sampleCacheMiddleware } from "../../src/store/sample-cache.js";
import { type DrawRecord, migrate, openStore, RunStore } from "../../src/store/sqlite.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reckon-reasoning-store-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const prompt = "Q: 7*8-5+13=?\n";
const problem = { problemId: "p", position: 0, question: prompt, prompt, reference: "64" };

describe("draws of a reasoning model", () => {
  let engine: LlamaCppBackend;
  beforeAll(async () => {
    // The bundled model thinks between its prompt's `Q:` and its own `A:` (see llamacpp-think.test.ts).
    engine = await createDefaultBackend({ sequences: 4, threads: 1, thinkTags: ["Q:", "A:"] });
  });
  afterAll(async () => engine?.close());

  it("keep their thinking, served back from the file by the sample cache without the engine", async () => {
    const path = join(dir, "cache.sqlite");
    const ask = { prompt, n: 4, sampleOffset: 0, temperature: 1, seed: 3, maxTokens: 64 };
    const first = openStore(path);
    first.createRun({ id: "r", recipe: {}, seed: 0, problems: [problem] });
    const drawn = await wrapBackend(engine, [
      sampleCacheMiddleware(first.draws, { runId: "r", problemId: "p" }),
    ]).generate(ask);
    first.close();
    expect(drawn.completions.every((c) => c.reasoning && c.reasoningTokens! > 0)).toBe(true);
    expect(drawn.usage.reasoningTokens).toBe(drawn.completions.reduce((s, c) => s + c.reasoningTokens!, 0));

    // Another process: nothing in memory, and an engine that must not be asked.
    const again = openStore(path);
    try {
      const gone = forwardBackend(engine, {
        generate: () => Promise.reject(new Error("a stored draw was drawn again")),
      });
      const served = await wrapBackend(gone, [
        sampleCacheMiddleware(again.draws, { runId: "r", problemId: "p" }),
      ]).generate(ask);
      expect(served).toEqual(drawn);
      const stored = again.draws.ofRequest("r", "p", requestDigest(ask));
      expect(stored.map((d) => d.completion)).toEqual(drawn.completions);
    } finally {
      again.close();
    }
  });
});

describe("candidates a strategy composes (not draws)", () => {
  it("keep their thinking in the stored result", async () => {
    const engine = await createDefaultBackend({ sequences: 2, threads: 1, thinkTags: ["Q:", "A:"] });
    const store = openStore(join(dir, "composed.sqlite"));
    try {
      // thinking-budget ends the thinking itself and asks for the answer: its candidate joins
      // two calls, so its thinking exists nowhere but in the candidate.
      await startBench(
        {
          dataset: { name: "arithmetic", levels: [2], perLevel: 2, seed: 1 },
          strategies: [
            {
              name: "thinking-budget",
              options: { n: 2, maxThinking: 6, thinkTags: ["Q:", "A:"], answerCue: "" },
            },
          ],
          sampling: { temperature: 1, max_tokens: 64 },
        },
        { store, backend: engine, runId: "composed" },
      );
      const candidates = store.results.list("composed").flatMap((r) => r.candidates);
      expect(candidates).toHaveLength(4);
      for (const c of candidates) {
        expect(c.draw).toBeUndefined();
        expect(c.reasoning).toMatch(/\S/);
        expect(c.reasoningTokens).toBeGreaterThan(0);
        expect(c.reasoningTokens).toBeLessThanOrEqual(6);
      }
    } finally {
      store.close();
      await engine.close();
    }
  });
});

/** A recording of a reasoning model: each sample thinks at its own length, then answers. */
function thinkingRows(): ReplayRow[] {
  return Array.from({ length: 4 }, (_, p) => {
    const random = seededRandom(deriveSeed(11, "thinking-rows", p));
    return {
      id: `p${p}`,
      prompt: `What is ${p} + ${p}?`,
      reference: String(2 * p),
      samples: Array.from({ length: 8 }, (_, i) => {
        const thought = 1 + Math.floor(random() * 40);
        const answer = random() < 0.5 ? 2 * p : 2 * p + 1 + (i % 3);
        return {
          text: `So the answer is \\boxed{${answer}}.`,
          reasoning: `Let me think. ${"Hmm, check again. ".repeat(thought)}Done <${i}>.`,
          reasoning_tokens: 4 * thought + 4,
          tokens: 4 * thought + 12,
          finish_reason: "eos" as const,
        };
      }),
    };
  });
}

describe("a bench run on a reasoning model", () => {
  it("resumed in another process equals an uninterrupted one, a verifier reading the thinking included", async () => {
    const replayPath = join(dir, "thinking.jsonl");
    writeFileSync(replayPath, writeReplayRows(thinkingRows()));
    const recipe: RecipeInput = {
      dataset: { name: "replay", path: replayPath },
      task: "math",
      backend: `replay:${replayPath}`,
      strategies: ["self-consistency", { name: "best-of-n", verifier: "reward" }],
      n: [1, 2, 4, 8],
      concurrency: 1,
    };
    // Best of n by the longest thinking: draws served without it would all score 0.
    const verifier = functionVerifier("longest thinking", (_p, c) => c.reasoning?.length ?? 0);
    const db = join(dir, "bench.sqlite");
    const options = (store: RunStore) => ({
      store,
      backend: createReplayBackend({ path: replayPath }),
      verifier,
    });

    let store = openStore(db);
    await startBench(recipe, { ...options(store), runId: "whole" });
    const controller = new AbortController();
    await expect(
      startBench(recipe, {
        ...options(store),
        runId: "cut",
        signal: controller.signal,
        onProgress: (p) => {
          if (p.resultsDone >= 10) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(AbortedError);
    store.close();
    store = openStore(db);
    try {
      await resumeBench("cut", options(store));
      const outcome = (runId: string) =>
        store.results
          .list(runId, {}, { reasoning: true })
          .map(({ problemId, config, answer, usage, candidates }) => ({
            problemId,
            config,
            answer,
            usage: [usage.promptTokens, usage.completionTokens, usage.reasoningTokens, usage.calls],
            candidates: candidates.map((c) => [c.text, c.reasoning, c.reasoningTokens, c.score]),
          }));
      expect(outcome("cut")).toEqual(outcome("whole"));
      expect(store.getMetrics("cut")).toEqual(store.getMetrics("whole"));

      // What it equals is the thinking itself: every candidate has its own, and was scored by it.
      const best = store.results.list("cut", { config: "best-of-n n=8" }, { reasoning: true });
      expect(best).toHaveLength(4);
      for (const r of best) {
        expect(r.usage.reasoningTokens).toBe(r.candidates.reduce((s, c) => s + c.reasoningTokens!, 0));
        for (const c of r.candidates) expect(c.score).toBe(c.reasoning!.length);
        const longest = r.candidates.reduce((a, b) => (b.score! > a.score! ? b : a));
        expect(r.answer).toBe(/boxed\{(\d+)\}/.exec(longest.text)![1]);
      }
      // Read without asking, results stay light: no thinking.
      expect(store.getResults("cut").some((r) => r.candidates.some((c) => c.reasoning))).toBe(false);
    } finally {
      store.close();
    }
  });

  it("exports the thinking to a replay file, which the replay backend serves back", async () => {
    const replayPath = join(dir, "export-source.jsonl");
    writeFileSync(replayPath, writeReplayRows(thinkingRows()));
    const store = openStore(join(dir, "export.sqlite"));
    try {
      await startBench(
        {
          dataset: { name: "replay", path: replayPath },
          task: "math",
          strategies: ["self-consistency"],
          n: [8],
        },
        { store, backend: createReplayBackend({ path: replayPath }), runId: "exported" },
      );
      const exported = parseReplayRows(writeReplayRows(runToReplayRows(store, "exported")));
      expect(exported.map((r) => r.samples)).toEqual(thinkingRows().map((r) => r.samples));
      const replay = createReplayBackend({ rows: exported });
      const { completions, usage } = await replay.generate({ prompt: exported[1]!.prompt, n: 8 });
      const stored = store.draws.list("exported", "p1").map((d) => d.completion);
      expect(completions).toEqual(stored);
      expect(completions[0]!.reasoning).toMatch(/^Let me think\. /);
      expect(usage.reasoningTokens).toBe(stored.reduce((s, c) => s + c.reasoningTokens!, 0));
      // A sample without thinking reads as before, and a count beyond the sample's is refused by name.
      expect(
        parseReplayRows(JSON.stringify({ id: "a", prompt: "x", samples: [{ text: "1" }] }))[0]!.samples[0],
      ).toEqual({ text: "1" });
      expect(() =>
        parseReplayRows(
          JSON.stringify({ id: "a", prompt: "x", samples: [{ text: "1", tokens: 2, reasoning_tokens: 3 }] }),
        ),
      ).toThrow(/samples\[0\]\.reasoning_tokens/);
    } finally {
      store.close();
    }
  });
});

describe("a result of a reasoning model's samples", () => {
  it("gives each sample of its trace its own draw's thinking, when answers and token counts agree", () => {
    const store = openStore(join(dir, "same-answers.sqlite"));
    try {
      store.createRun({ id: "r", recipe: {}, seed: 0, problems: [problem] });
      const usage = { promptTokens: 10, completionTokens: 9, calls: 1, latencyMs: 5, estimated: false };
      const thoughts = ["7*8=56, 56-5=51", "56-5+13: 51+13=64"];
      const draws = thoughts.map(
        (reasoning, index): DrawRecord => ({
          problemId: "p",
          digest: "d",
          index,
          completion: {
            text: "A: 64",
            reasoning,
            reasoningTokens: 6,
            finishReason: "eos" as const,
            tokens: 9,
          },
          usage,
        }),
      );
      store.draws.add("r", draws);
      store.results.add("r", {
        problemId: "p",
        config: "self-consistency n=2",
        strategy: "self-consistency",
        series: "self-consistency",
        budget: 2,
        options: { n: 2 },
        answer: "64",
        correct: true,
        stopReason: "completed",
        usage,
        candidates: draws.map((d) => ({
          text: "A: 64",
          answer: "64",
          tokens: 9,
          finishReason: "eos",
          draw: d.id!,
        })),
        trace: [0, 1].map((id) => ({ id, kind: "sample", text: "A: 64", tokens: 9, at: id })),
      });
      const [read] = store.results.list("r", {}, { reasoning: true });
      expect(read!.trace.map((e) => e.reasoning)).toEqual(thoughts);
      expect(read!.candidates.map((c) => c.reasoning)).toEqual(thoughts);
      expect(store.results.list("r")[0]!.trace.some((e) => e.reasoning !== undefined)).toBe(false);
    } finally {
      store.close();
    }
  });
});

describe("a database written before thinking was kept", () => {
  it("upgrades in place and reads its draws and results with no thinking", async () => {
    const path = join(dir, "old.sqlite");
    const previous = migrations.filter((m) => m.version < migrations.at(-1)!.version);
    expect(previous.at(-1)!.version).toBe(3);
    // Written at the previous schema level, as an older reckon left it.
    const raw = new Database(path);
    migrate(raw, previous);
    const old = new RunStore(raw);
    old.createRun({ id: "old", recipe: {}, seed: 0, problems: [problem] });
    const ask = { prompt, n: 1, temperature: 1, seed: 3, maxTokens: 64 };
    const digest = requestDigest(ask);
    const usage = { promptTokens: 10, completionTokens: 3, calls: 1, latencyMs: 5, estimated: false };
    const { lastInsertRowid } = raw
      .prepare(
        `INSERT INTO draws (run_id, problem_id, digest, sample_index, text, tokens, finish_reason, usage, created_at)
           VALUES ('old', 'p', ?, 0, 'A: 64', 3, 'eos', ?, '2024-01-01T00:00:00Z')`,
      )
      .run(digest, JSON.stringify(usage));
    old.results.add("old", {
      problemId: "p",
      config: "single",
      strategy: "single",
      series: "single",
      budget: 1,
      options: {},
      answer: "64",
      correct: true,
      stopReason: "completed",
      usage,
      candidates: [
        { text: "A: 64", answer: "64", tokens: 3, finishReason: "eos", draw: Number(lastInsertRowid) },
      ],
      trace: [{ id: 0, kind: "sample", text: "A: 64", tokens: 3, at: 1 }],
    });
    raw.close();

    const store = openStore(path);
    try {
      expect(store.schemaVersion()).toBe(migrations.at(-1)!.version);
      const [draw] = store.draws.list("old");
      expect(draw!.completion).toEqual({ text: "A: 64", finishReason: "eos", tokens: 3 });
      const [result] = store.results.list("old", {}, { reasoning: true });
      expect(result!.candidates).toEqual([
        { text: "A: 64", answer: "64", tokens: 3, finishReason: "eos", draw: draw!.id },
      ]);
      expect(result!.trace).toEqual([{ id: 0, kind: "sample", text: "A: 64", tokens: 3, at: 1 }]);

      // The old draw is served as it was; new ones keep their thinking beside it.
      const refused = forwardBackend(createReplayBackend({ rows: [] }), {
        generate: () => Promise.reject(new Error("a stored draw was drawn again")),
      });
      const served = await wrapBackend(refused, [
        sampleCacheMiddleware(store.draws, { runId: "old", problemId: "p" }),
      ]).generate(ask);
      expect(served.completions).toEqual([{ text: "A: 64", finishReason: "eos", tokens: 3 }]);
      expect(served.usage.reasoningTokens).toBeUndefined();
      store.draws.add("old", [
        {
          problemId: "p",
          digest,
          index: 1,
          completion: {
            text: "A: 64",
            reasoning: "7*8=56",
            reasoningTokens: 6,
            finishReason: "eos",
            tokens: 9,
          },
          usage,
        },
      ]);
    } finally {
      store.close();
    }
    const reopened = openStore(path, { create: false });
    try {
      expect(reopened.draws.list("old").map((d) => d.completion.reasoning)).toEqual([undefined, "7*8=56"]);
    } finally {
      reopened.close();
    }
  });
});
