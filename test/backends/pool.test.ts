import { afterEach, describe, expect, it } from "vitest";
import { createOpenAIPool, type PoolEvent, type PoolPolicy } from "../../src/backends/pool.js";
import { AbortedError, BackendError } from "../../src/core/errors.js";
import { type Fault, type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const servers: OpenAITestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function upstreams(
  count: number,
  options: Parameters<typeof startOpenAITestServer>[0][] = [],
): Promise<OpenAITestServer[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startOpenAITestServer({ respond: () => `A: ${i}`, ...options[i] }),
    ),
  );
  servers.push(...started);
  return started;
}

function pool(targets: OpenAITestServer[], policy: PoolPolicy = {}, timeoutMs = 5_000) {
  const events: PoolEvent[] = [];
  const backend = createOpenAIPool({
    upstreams: targets.map((s) => s.url),
    model: "test-model",
    mode: "completion",
    concurrency: 64,
    timeoutMs,
    policy: { ...policy, onEvent: (e) => events.push(e) },
  });
  return { backend, events };
}

const ask = (prompt: string, extra: Record<string, unknown> = {}) => ({ prompt, n: 1, ...extra });

describe("balancing", () => {
  it("spreads concurrent requests evenly over the least busy upstreams", async () => {
    const targets = await upstreams(3, [{ latencyMs: 40 }, { latencyMs: 40 }, { latencyMs: 40 }]);
    const { backend } = pool(targets, { affinity: false });
    await Promise.all(Array.from({ length: 30 }, (_, i) => backend.generate(ask(`Q${i}`))));
    expect(targets.map((s) => s.requests.length)).toEqual([10, 10, 10]);
  });

  it("sends requests with the same prompt to one upstream, and different prompts to several", async () => {
    const targets = await upstreams(3);
    const { backend } = pool(targets);
    for (let i = 0; i < 9; i++) await backend.generate(ask("shared prompt", { continuation: `step ${i}` }));
    expect(targets.map((s) => s.requests.length).sort()).toEqual([0, 0, 9]);
    for (let i = 0; i < 30; i++) await backend.generate(ask(`question ${i}`));
    expect(targets.filter((s) => s.requests.length > 0).length).toBe(3);
  });

  it("lets affinity give way when the preferred upstream is much busier than the rest", async () => {
    const targets = await upstreams(2, [{ latencyMs: 60 }, { latencyMs: 60 }]);
    const { backend } = pool(targets, { affinitySlack: 2 });
    await Promise.all(Array.from({ length: 12 }, () => backend.generate(ask("one prompt"))));
    const counts = targets.map((s) => s.requests.length).sort((a, b) => a - b);
    // Preferred upstream may run at most `affinitySlack` more than the other at any moment.
    expect(counts[0]).toBeGreaterThanOrEqual(5);
    expect(counts[0]! + counts[1]!).toBe(12);
  });
});

describe("failover", () => {
  it.each<[string, Fault]>([
    ["HTTP 500", { kind: "status", status: 500 }],
    ["HTTP 503", { kind: "status", status: 503 }],
    ["a connection reset", { kind: "reset" }],
    ["a truncated response body", { kind: "malformed-json" }],
  ])("retries on another upstream after %s", async (_, fault) => {
    const [bad, good] = await upstreams(2, [{ faults: () => fault }]);
    const { backend, events } = pool([bad!, good!], { affinity: false });
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => backend.generate(ask(`q${i}`)).then((r) => r.completions[0]!.text)),
    );
    expect(answers).toEqual(["A: 1", "A: 1", "A: 1", "A: 1"]);
    expect(bad!.requests.length).toBeGreaterThan(0);
    expect(events.some((e) => e.kind === "retry" && e.from === bad!.url)).toBe(true);
  });

  it("does not wait for a stalled upstream: its timeout sends the request elsewhere", async () => {
    const [stalled, good] = await upstreams(2, [{ faults: () => ({ kind: "slow", delayMs: 60_000 }) }]);
    const { backend } = pool([stalled!, good!], { affinity: false }, 300);
    const results = await Promise.all([backend.generate(ask("a")), backend.generate(ask("b"))]);
    expect(results.map((r) => r.completions[0]!.text)).toEqual(["A: 1", "A: 1"]);
  });

  it("skips an upstream answering 429 for its Retry-After without ejecting it", async () => {
    let limited = true;
    const [busy, other] = await upstreams(2, [
      { faults: () => (limited ? { kind: "status", status: 429, retryAfter: "0.3" } : undefined) },
    ]);
    const { backend, events } = pool([busy!, other!], { affinity: false });
    await backend.generate(ask("first"));
    const hitsWhileLimited = busy!.requests.length;
    for (let i = 0; i < 4; i++) await backend.generate(ask(`during ${i}`));
    expect(busy!.requests.length).toBe(hitsWhileLimited);
    limited = false;
    await new Promise((r) => setTimeout(r, 350));
    await Promise.all(Array.from({ length: 4 }, (_, i) => backend.generate(ask(`after ${i}`))));
    expect(busy!.requests.length).toBeGreaterThan(hitsWhileLimited);
    expect(events.some((e) => e.kind === "ejected")).toBe(false);
  });

  it("waits for Retry-After when every upstream is rate-limited, then succeeds", async () => {
    const [only] = await upstreams(1, [
      { faults: { 1: { kind: "status", status: 429, retryAfter: "0.2" } } },
    ]);
    const { backend } = pool([only!]);
    const response = await backend.generate(ask("q"));
    expect(response.completions[0]!.text).toBe("A: 0");
    expect(only!.requests.length).toBe(2);
  });

  it("ejects an upstream after repeated failures and probes it back once it recovers", async () => {
    let broken = true;
    const [flaky, steady] = await upstreams(2, [
      { faults: () => (broken ? { kind: "status", status: 502 } : undefined) },
    ]);
    const { backend, events } = pool([flaky!, steady!], {
      affinity: false,
      failureThreshold: 2,
      ejectMs: 200,
    });
    for (let i = 0; i < 6; i++) await backend.generate(ask(`q${i}`));
    expect(events.filter((e) => e.kind === "ejected")).toHaveLength(1);
    const hitsWhenEjected = flaky!.requests.length;
    for (let i = 0; i < 4; i++) await backend.generate(ask(`ejected ${i}`));
    expect(flaky!.requests.length).toBe(hitsWhenEjected);
    expect(backend.upstreams().find((u) => u.id === flaky!.url)?.state).toBe("ejected");

    broken = false;
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 4; i++) await backend.generate(ask(`back ${i}`));
    expect(flaky!.requests.length).toBeGreaterThan(hitsWhenEjected);
    expect(events.some((e) => e.kind === "restored" && e.upstream === flaky!.url)).toBe(true);
    expect(backend.upstreams().every((u) => u.state === "healthy")).toBe(true);
  });

  it("a failed probe ejects the upstream again, for longer", async () => {
    const [dead, alive] = await upstreams(2, [{ faults: () => ({ kind: "status", status: 500 }) }]);
    const { backend, events } = pool([dead!, alive!], { affinity: false, failureThreshold: 1, ejectMs: 100 });
    await backend.generate(ask("a"));
    await new Promise((r) => setTimeout(r, 130));
    await backend.generate(ask("b"));
    await backend.generate(ask("c"));
    const ejections = events.filter((e) => e.kind === "ejected");
    expect(ejections.map((e) => (e as { forMs: number }).forMs)).toEqual([100, 200]);
  });

  it("passes a request the upstream refused (400) straight back, without retrying", async () => {
    const targets = await upstreams(2, [
      { faults: () => ({ kind: "status", status: 400, message: "bad top_k" }) },
      { faults: () => ({ kind: "status", status: 400, message: "bad top_k" }) },
    ]);
    const { backend } = pool(targets, { affinity: false });
    const error = await backend.generate(ask("q")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).status).toBe(400);
    expect(targets[0]!.requests.length + targets[1]!.requests.length).toBe(1);
  });

  it("gives up with the last upstream error when every upstream keeps failing", async () => {
    const targets = await upstreams(2, [
      { faults: () => ({ kind: "status", status: 500 }) },
      { faults: () => ({ kind: "status", status: 500 }) },
    ]);
    const { backend } = pool(targets, { maxAttempts: 3, roundDelayMs: 10 });
    const error = await backend.generate(ask("q")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).status).toBe(500);
    expect((error as Error).message).toMatch(/every upstream failed/);
    expect(targets[0]!.requests.length + targets[1]!.requests.length).toBe(3);
  });

  it("stops at once when the caller aborts, even while an upstream stalls", async () => {
    const [stalled] = await upstreams(1, [{ faults: () => ({ kind: "slow", delayMs: 60_000 }) }]);
    const { backend } = pool([stalled!]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await backend.generate(ask("q", { signal: controller.signal })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
  });
});
