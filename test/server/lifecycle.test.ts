/**
 * Disconnects cancel upstream work, shutdown drains requests in flight, upstream faults are
 * retried elsewhere without hanging a request, and /metrics and /healthz tell what happened.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Fault, type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(
  options: Parameters<typeof startOpenAITestServer>[0] = {},
): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer({ respond: () => "The answer is \\boxed{4}.", ...options });
  cleanups.push(() => server.close());
  return server;
}

async function proxy(config: Parameters<typeof startProxy>[0]): Promise<RunningProxy> {
  const started = await startProxy(config);
  cleanups.push(() => started.close());
  return started;
}

/** An upstream that never answers and reports when each of its requests is closed. */
async function blackHole(): Promise<{ url: string; opened: number; closed: number }> {
  const state = { url: "", opened: 0, closed: 0 };
  const server: Server = createServer((req, res) => {
    state.opened += 1;
    req.resume();
    res.on("close", () => {
      state.closed += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const messages = [{ role: "user", content: "What is 2+2?" }];

describe("client disconnects", () => {
  it.each([false, true])(
    "cancel every upstream request of the client's request (stream: %s)",
    async (stream) => {
      const hole = await blackHole();
      const server = await proxy({ upstreams: [hole.url] });
      const controller = new AbortController();
      const response = fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "self-consistency-3/m", messages, stream, reckon: { batchSize: 1 } }),
        signal: controller.signal,
      });
      await until(() => hole.opened === 1);
      if (stream) {
        const reader = (await response).body!.getReader();
        await reader.read();
        controller.abort();
      } else {
        controller.abort();
        await response.catch(() => undefined);
      }
      await until(() => hole.closed === 1);
      // No further samples were asked for after the cancellation.
      await new Promise((r) => setTimeout(r, 100));
      expect(hole.opened).toBe(1);
      const live = (await (await fetch(`${server.url}/ui/api/live`)).json()) as {
        requests: { status?: number }[];
      };
      await until(() => live.requests.length > 0);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/reckon_http_requests_total\{route="\/v1\/chat\/completions",status="499"\} 1/);
    },
  );
});

describe("shutdown", () => {
  it("finishes the requests in flight, then stops accepting", async () => {
    const slow = await upstream({ latencyMs: 400 });
    const server = await startProxy({ upstreams: [slow.url] });
    const pending = postJson(`${server.url}/v1/chat/completions`, { model: "test-model", messages });
    await until(() => slow.requests.length === 1);
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok", inFlight: 1 });
    const closed = server.close();
    const answered = await pending;
    expect(answered.status).toBe(200);
    expect(answered.json.choices[0].message.content).toContain("boxed{4}");
    await closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("cancels what is still running when the drain time is up", async () => {
    const hole = await blackHole();
    const server = await startProxy({ upstreams: [hole.url], drainMs: 200 });
    const pending = postJson(`${server.url}/v1/chat/completions`, { model: "m", messages }).catch(
      (e: unknown) => e,
    );
    await until(() => hole.opened === 1);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await until(() => hole.closed === 1);
    await pending;
  });
});

describe("upstream faults", () => {
  it("retries 429s, 5xx, resets, truncated bodies and a stalled upstream elsewhere; no request hangs", async () => {
    const faults: Fault[] = [
      { kind: "status", status: 429, retryAfter: "1" },
      { kind: "status", status: 500 },
      { kind: "reset" },
      { kind: "malformed-json" },
      { kind: "slow", delayMs: 60_000 },
      { kind: "status", status: 503 },
    ];
    const flaky = await upstream({ faults: (n) => faults[(n - 1) % faults.length] });
    const wobbly = await upstream({
      faults: (n) => (n % 4 === 0 ? { kind: "status", status: 502 } : undefined),
    });
    const server = await proxy({
      upstreams: [flaky.url, wobbly.url],
      upstreamTimeoutMs: 400,
      pool: { affinity: false, failureThreshold: 100, maxAttempts: 6 },
    });
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        postJson(`${server.url}/v1/chat/completions`, {
          model: i % 2 === 0 ? "test-model" : "self-consistency-2/test-model",
          messages: [{ role: "user", content: `What is ${i}+2?` }],
          stream: i % 3 === 0,
        }),
      ),
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    for (const r of responses) {
      expect(r.status).toBe(200);
      if (typeof r.json === "string") expect(r.json).toContain("data: [DONE]");
      else expect(r.json.choices[0].message.content).toContain("boxed{4}");
    }
    expect(flaky.requests.length).toBeGreaterThan(0);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const retries = [...metrics.matchAll(/^reckon_upstream_retries_total\{[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(retries).toBeGreaterThan(0);
    expect(metrics).toMatch(/reckon_upstream_errors_total\{upstream="[^"]+",status="429"\}/);
    expect(metrics).toMatch(/reckon_upstream_errors_total\{upstream="[^"]+",status="none"\}/);
    expect(metrics).toMatch(/reckon_upstream_calls_total\{upstream="[^"]+",outcome="success"\}/);
  });

  it("answers 502 with an OpenAI error when every upstream keeps failing", async () => {
    const down = await upstream({ faults: () => ({ kind: "status", status: 500 }) });
    const server = await proxy({ upstreams: [down.url], pool: { maxAttempts: 2 } });
    const response = await postJson(`${server.url}/v1/chat/completions`, { model: "test-model", messages });
    expect(response.status).toBe(502);
    expect(response.json.error).toMatchObject({ type: "upstream_error", code: "upstream_unavailable" });
  });
});

describe("metrics", () => {
  it("counts requests by status, tokens by direction, and exposes latency histograms", async () => {
    const up = await upstream();
    const server = await proxy({ upstreams: [up.url] });
    await postJson(`${server.url}/v1/chat/completions`, { model: "self-consistency-3/test-model", messages });
    await postJson(`${server.url}/v1/chat/completions`, { model: "test-model", messages: [] });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/reckon_http_requests_total\{route="\/v1\/chat\/completions",status="200"\} 1/);
    expect(text).toMatch(/reckon_http_requests_total\{route="\/v1\/chat\/completions",status="400"\} 1/);
    // 3 samples of "The answer is \boxed{4}." (4 words) and a 3-word prompt.
    expect(text).toMatch(/reckon_tokens_total\{direction="completion"\} 12/);
    expect(text).toMatch(/reckon_tokens_total\{direction="prompt"\} 3/);
    expect(text).toMatch(
      /reckon_strategy_runs_total\{strategy="self-consistency",stop_reason="completed"\} 1/,
    );
    expect(text).toMatch(
      /reckon_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/chat\/completions"\} 2/,
    );
    expect(text).toMatch(/reckon_upstream_healthy\{upstream="[^"]+"\} 1/);
  });
});
