/**
 * Per-request caps hold for every strategy, whatever its options are called: a request whose
 * options ask for more samples than the server allows is refused before anything is drawn, and
 * no strategy, registered now or later, draws more than `limits.maxSamples` per request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listStrategies } from "../../src/strategies/registry.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const maxSamples = 16;
let upstream: OpenAITestServer;
let proxy: RunningProxy;
const messages = [{ role: "user", content: "What is 2+2?" }];

beforeAll(async () => {
  // Answers never agree, so adaptive strategies keep drawing until a cap stops them.
  upstream = await startOpenAITestServer({
    respond: (_, index) => `Step one.\n\nThe answer is \\boxed{${index % 7}}.`,
  });
  proxy = await startProxy({
    upstreams: [upstream.url],
    limits: { maxSamples, maxBudgetTokens: 3_000 },
    verifier: "judge:verdict",
  });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

/** Samples the upstream was asked for since `from`. */
const samplesSince = (from: number) =>
  upstream.requests.slice(from).reduce((sum, r) => sum + (typeof r.body.n === "number" ? r.body.n : 1), 0);

describe("per-request caps", () => {
  it.each<[string, Record<string, unknown>]>([
    ["esc with a window larger than the cap", { strategy: "esc", maxSamples: 4096, windowSize: 256 }],
    ["iterative-deepening starting above the cap", { strategy: "iterative-deepening", start: 1024 }],
    ["self-consistency over the cap", { strategy: "self-consistency", n: maxSamples + 1 }],
  ])("refuses %s with a 400 before drawing anything", async (_, reckon) => {
    const before = upstream.requests.length;
    const response = await postJson(`${proxy.url}/v1/chat/completions`, {
      model: "test-model",
      messages,
      reckon,
    });
    expect(response.status).toBe(400);
    expect(response.json.error.param).toMatch(/^reckon/);
    expect(upstream.requests.length).toBe(before);
  });

  it("stops an adaptive strategy at the cap and answers with what it drew", async () => {
    const before = upstream.requests.length;
    const response = await postJson(`${proxy.url}/v1/chat/completions`, {
      model: "test-model",
      messages,
      reckon: { strategy: "esc", maxSamples: 4096, windowSize: 4 },
    });
    expect(response.status).toBe(200);
    expect(response.json.reckon.stop_reason).toBe("budget");
    expect(samplesSince(before)).toBeLessThanOrEqual(maxSamples);
    expect(response.json.reckon.candidates.length).toBeGreaterThan(0);
  });

  it.each(listStrategies().map((s) => s.name))(
    "never lets %s draw more than the cap or spend more than the token limit",
    async (strategy) => {
      // An upstream of its own: nothing of another request lands in its count.
      const own = await startOpenAITestServer({
        respond: (_, index) => `Step one.\n\nThe answer is \\boxed{${index % 7}}.`,
      });
      const server = await startProxy({
        upstreams: [own.url],
        limits: { maxSamples, maxBudgetTokens: 3_000 },
        verifier: "judge:verdict",
      });
      try {
        const response = await postJson(`${server.url}/v1/chat/completions`, {
          model: "test-model",
          messages,
          reckon: { strategy },
        });
        expect([200, 400]).toContain(response.status);
        await server.close();
        const drawn = own.requests.reduce((sum, r) => sum + (typeof r.body.n === "number" ? r.body.n : 1), 0);
        expect(drawn).toBeLessThanOrEqual(maxSamples);
        if (response.status === 200) expect(response.json.usage.total_tokens).toBeLessThanOrEqual(3_000);
      } finally {
        await server.close();
        await own.close();
      }
    },
  );
});
