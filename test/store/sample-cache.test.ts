/** The store-backed sample cache between a strategy and a real backend (the bundled model). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultBackend } from "../../src/backends/embedded.js";
import type { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { wrapBackend } from "../../src/core/backend.js";
import { requestDigest } from "../../src/core/draws.js";
import { AbortedError } from "../../src/core/errors.js";
import { sampleCacheMiddleware } from "../../src/store/sample-cache.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";

const prompt = "Q: 7*8-5+13=?\n";
let engine: LlamaCppBackend;
let store: RunStore;
beforeAll(async () => {
  engine = await createDefaultBackend({ sequences: 4 });
  store = openStore(":memory:");
  store.createRun({
    id: "r",
    recipe: {},
    seed: 0,
    problems: [{ problemId: "p", position: 0, question: prompt, prompt, reference: "64" }],
  });
});
afterAll(async () => {
  store.close();
  await engine.close();
});

const cached = () =>
  wrapBackend(engine, [sampleCacheMiddleware(store.draws, { runId: "r", problemId: "p" })]);
const ask = { prompt, temperature: 1, seed: 3, maxTokens: 64 };

describe("sample cache", () => {
  it("serves stored draws by index and draws only the missing ones, with what a direct call gives", async () => {
    const first = await cached().generate({ ...ask, n: 2, sampleOffset: 0 });
    expect(store.draws.count("r")).toBe(2);
    const before = engine.stats.samples;
    const more = await cached().generate({ ...ask, n: 4, sampleOffset: 0 });
    expect(engine.stats.samples - before).toBe(2);
    expect(more.completions.slice(0, 2)).toEqual(first.completions);
    const direct = await engine.generate({ ...ask, n: 4, sampleOffset: 0 });
    expect(more.completions.map((c) => c.text)).toEqual(direct.completions.map((c) => c.text));
    // One request: one call, the prompt once, every sample's completion tokens.
    expect(more.usage.calls).toBe(1);
    expect(more.usage.completionTokens).toBe(more.completions.reduce((sum, c) => sum + c.tokens, 0));
  });

  it("returns the draws it served when the caller cancels the rest", async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await cached()
      .generate({
        ...ask,
        n: 8,
        sampleOffset: 0,
        signal: controller.signal,
        onSample: (_c, index) => {
          seen.push(index);
          controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    const partial = (error as AbortedError).partial!;
    expect(seen.slice(0, 4)).toEqual([0, 1, 2, 3]);
    const stored = store.draws.find("r", "p", requestDigest({ ...ask, n: 8 }), 0, 4);
    expect(partial.completions.slice(0, 4).map((c) => c.text)).toEqual(
      [...stored.values()].map((d) => d.completion.text),
    );
    expect(partial.usage.completionTokens).toBeGreaterThan(0);
  });
});
