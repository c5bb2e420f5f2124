/** Budgets and metering around a real backend (a loopback OpenAI-compatible server). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { defaultMaxTokensUnderBudget } from "../../src/core/metering.js";
import { referenceTask } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const task = referenceTask({
  name: "echo",
  extractAnswer: (text: string) => /answer (\d+)/.exec(text)?.[1],
  equivalent: (a: string, b: string) => a === b,
  isCorrect: (a: string, b: string) => a === b,
});

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAITestServer({ respond: (_r, i) => `so the answer ${i % 2} is it` });
});
afterAll(() => server.close());

const backend = () => createOpenAIBackend({ baseURL: server.url, model: "m" }, {});
const problem = { id: "p", prompt: "Q?", reference: "0", task };

describe("budgets in the library", () => {
  it("caps each sample's max_tokens when only a token budget is given", async () => {
    const before = server.requests.length;
    await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 4 },
      budget: { maxTokens: 20_000 },
    });
    const sent = server.requests.slice(before).map((r) => Number(r.body.max_tokens));
    expect(sent.length).toBeGreaterThan(0);
    for (const maxTokens of sent) expect(maxTokens).toBeLessThanOrEqual(defaultMaxTokensUnderBudget);
  });

  it("counts money when prices are given and stops at a money budget", async () => {
    const result = await run({
      problem,
      backend: backend(),
      strategy: "self-consistency",
      options: { n: 64, batchSize: 1 },
      prices: { promptPerMillion: 1_000, completionPerMillion: 2_000 },
      budget: { maxCostUsd: 0.05 },
    });
    expect(result.stopReason).toBe("budget");
    expect(result.usage.costUsd).toBeGreaterThanOrEqual(0.05);
    expect(result.candidates.length).toBeLessThan(64);
    const expected = (result.usage.promptTokens * 1_000 + result.usage.completionTokens * 2_000) / 1e6;
    expect(result.usage.costUsd).toBeCloseTo(expected, 9);
  });

  it("gives a nested strategy its own budget and usage inside its caller's", async () => {
    const { createStrategyRegistry, listStrategies } = await import("../../src/strategies/registry.js");
    const { defineStrategy } = await import("../../src/strategies/strategy.js");
    const { z } = await import("zod");
    // The test's own registry: the built-in strategies and this one, the default registry untouched.
    const strategies = createStrategyRegistry([
      defineStrategy({
        name: "twice-nested",
        description: "runs self-consistency twice in child scopes",
        options: z.object({}).strict(),
        needsVerifier: false,
        async run(p, ctx) {
          const first = await ctx.runStrategy(
            "self-consistency",
            p,
            { n: 8, batchSize: 1 },
            { budget: { maxCalls: 3 } },
          );
          const second = await ctx.runStrategy("self-consistency", p, { n: 2 });
          return {
            answer: second.answer,
            candidates: [...first.candidates, ...second.candidates],
            tally: second.tally,
            // The second run's candidates follow the first's.
            chosen: second.chosen === undefined ? undefined : first.candidates.length + second.chosen,
            stopReason: "completed",
            detail: { first: first.usage, second: second.usage },
          };
        },
      }),
    ]);
    const result = await run({ problem, backend: backend(), strategy: "twice-nested", strategies });
    expect(listStrategies().map((s) => s.name)).not.toContain("twice-nested");
    const first = result.detail!.first as { calls: number; completionTokens: number };
    const second = result.detail!.second as { calls: number; completionTokens: number };
    expect(first.calls).toBe(3);
    expect(result.candidates.length).toBe(3 + 2);
    expect(result.usage.calls).toBe(first.calls + second.calls);
    expect(result.usage.completionTokens).toBe(first.completionTokens + second.completionTokens);
  });
});
