/**
 * A proxy one can put on a network: clients cannot make it call addresses of their choosing,
 * the operator's pages need a key, no credential leaves the server, per-key token limits
 * hold under concurrency, per-request caps bound every strategy before it spends, and what is
 * kept per request stays small whatever the client sends.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const messages = [{ role: "user", content: "What is 2+2?" }];
const chat = (proxy: RunningProxy) => `${proxy.url}/v1/chat/completions`;

async function upstream(
  options: Parameters<typeof startOpenAITestServer>[0] = {},
): Promise<OpenAITestServer> {
  const server = await startOpenAITestServer({ respond: () => "The answer is \\boxed{4}.", ...options });
  cleanups.push(() => server.close());
  return server;
}

async function proxy(
  config: Parameters<typeof startProxy>[0],
  parts?: Parameters<typeof startProxy>[1],
): Promise<RunningProxy> {
  const started = await startProxy(config, parts);
  cleanups.push(() => started.close());
  return started;
}

/** A reward model on loopback: scores every input 0.5, or answers 500 with `failBody`. */
async function rewardModel(failBody?: string): Promise<{ url: string; hits: number }> {
  const state = { url: "", hits: 0 };
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      if (failBody !== undefined) {
        res.writeHead(500, { "content-type": "application/json" }).end(failBody);
        return;
      }
      const body = JSON.parse(text) as { input?: string[] };
      const score = (body.input ?? [""]).map(() => 0.5);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ score }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}

describe("verifiers come from the server's configuration", () => {
  it("refuses a verifier address from the client without contacting it, and serves a configured one by name", async () => {
    const target = await rewardModel();
    const up = await upstream();
    const server = await proxy({ upstreams: [up.url], verifiers: { rm: `orm:${target.url}` } });
    for (const spec of [
      `orm:${target.url}`,
      `prm:${target.url}`,
      `orm:${target.url.replace("127.0.0.1", "localhost")}`,
    ]) {
      const refused = await postJson(chat(server), {
        model: "test-model",
        messages,
        reckon: { strategy: "best-of-n", n: 2, verifier: spec },
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error.param).toBe("reckon.verifier");
      expect(refused.json.error.message).toContain("rm");
    }
    expect(target.hits).toBe(0);

    const named = await postJson(chat(server), {
      model: "test-model",
      messages,
      reckon: { strategy: "best-of-n", n: 2, verifier: "rm" },
    });
    expect(named.status).toBe(200);
    expect(target.hits).toBeGreaterThan(0);
    expect(named.json.reckon.candidates[0].score).toBe(0.5);
  });

  it("never echoes what a failing verifier or upstream answered", async () => {
    const secret = "INTERNAL-ONLY-9f3e";
    const target = await rewardModel(JSON.stringify({ error: secret }));
    const up = await upstream({ faults: () => ({ kind: "status", status: 500, message: secret }) });
    const withVerifier = await proxy({
      upstreams: [(await upstream()).url],
      verifiers: { rm: `orm:${target.url}` },
    });
    const verifierFailure = await postJson(chat(withVerifier), {
      model: "test-model",
      messages,
      reckon: { strategy: "best-of-n", n: 2, verifier: "rm" },
    });
    expect(verifierFailure.status).toBe(502);
    expect(JSON.stringify(verifierFailure.json)).not.toContain(secret);
    expect(JSON.stringify(verifierFailure.json)).not.toContain(target.url);

    const failing = await proxy({ upstreams: [up.url], pool: { maxAttempts: 1 } });
    const upstreamFailure = await postJson(chat(failing), { model: "test-model", messages });
    expect(upstreamFailure.status).toBe(502);
    expect(JSON.stringify(upstreamFailure.json)).not.toContain(secret);
  });

  it("advertises verifier strategies only when a default verifier is configured", async () => {
    const target = await rewardModel();
    const up = await upstream();
    const server = await proxy({
      upstreams: [up.url],
      verifiers: { rm: `orm:${target.url}` },
      verifier: "rm",
    });
    const ids = (
      (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] }
    ).data.map((m) => m.id);
    expect(ids).toContain("best-of-n/test-model");
    const answer = await postJson(chat(server), { model: "best-of-n-2/test-model", messages });
    expect(answer.status).toBe(200);
  });
});

describe("the operator's pages and credentials", () => {
  const key = "sk-client-0123456789";
  const adminKey = "sk-admin-0123456789";

  it("answers nothing but /healthz and /readyz without a key when keys are configured", async () => {
    const up = await upstream();
    const server = await proxy({ upstreams: [up.url], apiKeys: [{ key }] });
    for (const path of ["/metrics", "/ui", "/ui/api/live", "/ui/api/live?format=rows", "/v1/models"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(await response.text()).not.toContain("reckon_http_requests_total");
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(metrics.status).toBe(200);
    // A browser opens the dashboard through its Basic prompt, the key as password.
    const basic = `Basic ${Buffer.from(`admin:${key}`).toString("base64")}`;
    const ui = await fetch(`${server.url}/ui`, { headers: { authorization: basic } });
    expect(ui.status).toBe(200);
    expect((await fetch(`${server.url}/ui`)).headers.get("www-authenticate")).toMatch(/^Basic/);
  });

  it("takes only admin keys on the operator's pages when admin keys are set", async () => {
    const up = await upstream();
    const server = await proxy({ upstreams: [up.url], apiKeys: [{ key }], adminKeys: [adminKey] });
    const as = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });
    expect((await fetch(`${server.url}/metrics`, as(key))).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, as(adminKey))).status).toBe(200);
    expect((await fetch(`${server.url}/ui/api/live`, as(adminKey))).status).toBe(200);
    expect(
      (await postJson(chat(server), { model: "test-model", messages }, as(adminKey).headers)).status,
    ).toBe(401);
  });

  it("shows no upstream credential in error bodies, metrics, the dashboard or its API", async () => {
    const up = await upstream({ faults: () => ({ kind: "status", status: 503 }) });
    const password = "hunter2-upstream-password";
    const upstreamKey = "sk-upstream-secret-abcdef";
    const withCredentials = up.url.replace("http://", `http://operator:${password}@`);
    const server = await proxy({
      upstreams: [withCredentials],
      upstreamApiKey: upstreamKey,
      pool: { maxAttempts: 1 },
    });
    const failed = await postJson(chat(server), { model: "test-model", messages });
    expect(failed.status).toBe(502);
    const pages = [
      JSON.stringify(failed.json),
      await (await fetch(`${server.url}/metrics`)).text(),
      await (await fetch(`${server.url}/ui`)).text(),
      await (await fetch(`${server.url}/ui/api/live`)).text(),
    ];
    // The upstream is shown (the dashboard lists it), its secrets are not.
    expect(pages[1]).toContain("operator:***@");
    for (const page of pages) {
      expect(page).not.toContain(password);
      expect(page).not.toContain(upstreamKey);
    }
  });
});

describe("per-key token limits", () => {
  it("reserves tokens before the work: 100 concurrent requests of a 2,000-token key spend at most 2,000", async () => {
    // Every sample costs about 60 tokens; 100 requests of 8 samples would spend about 48,000.
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");
    const up = await upstream({ respond: () => `${words} \\boxed{4}`, latencyMs: 20 });
    const key = "sk-limited-0123456789";
    const server = await proxy({
      upstreams: [up.url],
      apiKeys: [{ key, tokensPerMinute: 2_000, maxConcurrent: 200 }],
      keyDefaults: { requestTokens: 500 },
    });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        postJson(
          chat(server),
          { model: "test-model", messages, reckon: { strategy: "self-consistency", n: 8 } },
          { authorization: `Bearer ${key}` },
        ),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(100);
    expect(ok.length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers.get("retry-after")).toMatch(/^\d+$/);
    const billed = ok.reduce((sum, r) => sum + r.json.usage.total_tokens, 0);
    expect(billed).toBeLessThanOrEqual(2_000);
    for (const r of ok) expect(r.json.reckon.budget.spent_tokens).toBe(r.json.usage.total_tokens);
  });
});

describe("what is kept per request", () => {
  it("stays small when clients send hundreds of distinct long model names", async () => {
    const up = await upstream({ models: ["test-model"] });
    const server = await proxy({ upstreams: [up.url] });
    await postJson(chat(server), { model: "test-model", messages });
    // Every route read below once already, so that "before" holds their series too.
    for (const page of ["/metrics", "/ui/api/live", "/ui"]) await fetch(`${server.url}${page}`);
    await postJson(chat(server), { model: "unknown-model", messages });
    const metricsBefore = await (await fetch(`${server.url}/metrics`)).text();
    const filler = "x".repeat(20_000);
    for (let batch = 0; batch < 15; batch++)
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const response = await postJson(chat(server), { model: `m-${batch}-${i}-${filler}`, messages });
          expect(response.status).toBe(404);
          expect(JSON.stringify(response.json).length).toBeLessThan(2_000);
        }),
      );
    const live = await (await fetch(`${server.url}/ui/api/live`)).text();
    // 200 requests are kept, each with its model name cut to a few hundred characters.
    expect(JSON.parse(live).requests.length).toBe(200);
    expect(live.length).toBeLessThan(200 * 1_500);
    const page = await (await fetch(`${server.url}/ui`)).text();
    expect(page.length).toBeLessThan(200 * 2_000);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toContain("xxxxxxxxxx");
    expect(metrics.length).toBeLessThan(metricsBefore.length + 5_000);
  });
});
