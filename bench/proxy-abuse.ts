/**
 * Load and abuse against a `reckon serve` deployment: hostile requests, per-key token limits
 * under 100 concurrent requests, and memory before and after 1,000 distinct model names.
 * Prints, per check, whether it held.
 *
 *   npx tsx bench/proxy-abuse.ts                 # starts its own upstream and `reckon serve`
 *   npx tsx bench/proxy-abuse.ts --url http://127.0.0.1:8080 --key sk-… --admin-key sk-… \
 *     --limited-key sk-… --limited-tpm 2000 --model qwen2.5-7b-instruct
 *
 * Against your own deployment: `--key` is any client key, `--admin-key` opens /metrics (for
 * the memory figures), `--limited-key` a key with a tokens-per-minute limit of
 * `--limited-tpm`. Only loopback addresses are targeted unless `--allow-remote` is given.
 * Everything is bounded: at most 1,400 requests or so, each with a 30 s timeout, and the
 * whole run is stopped after `--max-seconds` (default 300).
 */
import { type ChildProcess, fork } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

interface Target {
  url: string;
  model: string;
  key?: string;
  adminKey?: string;
  limitedKey?: string;
  limitedTpm?: number;
  /** Secrets that must never come back (the script's own upstream credentials). */
  secrets: string[];
}

interface Check {
  name: string;
  held: boolean;
  detail: string;
}

const checks: Check[] = [];
const record = (name: string, held: boolean, detail: string) => {
  checks.push({ name, held, detail });
  console.log(`${held ? "held  " : "FAILED"}  ${name}: ${detail}`);
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      model: { type: "string", default: "test-model" },
      key: { type: "string" },
      "admin-key": { type: "string" },
      "limited-key": { type: "string" },
      "limited-tpm": { type: "string" },
      "allow-remote": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "300" },
      models: { type: "string", default: "1000" },
    },
  });
  const deadline = setTimeout(() => {
    console.error("proxy-abuse: stopped at --max-seconds");
    process.exit(1);
  }, Number(values["max-seconds"]) * 1000);
  deadline.unref();
  const children: ChildProcess[] = [];
  try {
    let target: Target;
    if (values.url) {
      const host = new URL(values.url).hostname;
      if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host) && !values["allow-remote"])
        throw new Error(`${host} is not a loopback address; pass --allow-remote to target it`);
      target = {
        url: values.url.replace(/\/+$/, "").replace(/\/v1$/, ""),
        model: values.model!,
        key: values.key,
        adminKey: values["admin-key"] ?? values.key,
        limitedKey: values["limited-key"],
        limitedTpm: values["limited-tpm"] ? Number(values["limited-tpm"]) : undefined,
        secrets: [],
      };
    } else target = await startOwnDeployment(children);
    console.log(`reckon serve at ${target.url}, model ${target.model}\n`);
    await hostileRequests(target);
    await perKeyLimits(target);
    await distinctModels(target, Number(values.models));
    const failed = checks.filter((c) => !c.held);
    console.log(`\n${checks.length - failed.length} of ${checks.length} checks held.`);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill("SIGTERM");
  }
}

/** A loopback upstream and `reckon serve` in front of it, each its own process. */
async function startOwnDeployment(children: ChildProcess[]): Promise<Target> {
  const upstreamPassword = "upstream-password-do-not-leak";
  const upstreamKey = "sk-upstream-key-do-not-leak";
  const upstream = await spawnRole("upstream", [], children);
  const withCredentials = upstream.replace("http://", `http://operator:${upstreamPassword}@`);
  const config = {
    port: 0,
    upstreams: [withCredentials],
    upstreamApiKey: upstreamKey,
    apiKeys: [
      { key: "sk-abuse-client-0123456789", name: "client" },
      { key: "sk-abuse-limited-0123456789", name: "limited", tokensPerMinute: 2_000, maxConcurrent: 200 },
    ],
    adminKeys: ["sk-abuse-admin-0123456789"],
    keyDefaults: { requestTokens: 400 },
  };
  const url = await spawnRole("proxy", [JSON.stringify(config)], children);
  return {
    url,
    model: "test-model",
    key: "sk-abuse-client-0123456789",
    adminKey: "sk-abuse-admin-0123456789",
    limitedKey: "sk-abuse-limited-0123456789",
    limitedTpm: 2_000,
    secrets: [upstreamPassword, upstreamKey],
  };
}

function spawnRole(role: string, args: string[], children: ChildProcess[]): Promise<string> {
  const child = fork(fileURLToPath(import.meta.url), [role, ...args], { execArgv: ["--import", "tsx"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve((message as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`${role} exited with code ${code}`)));
  });
}

interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

async function send(
  target: Target,
  path: string,
  init: { method?: string; body?: unknown; key?: string | null; contentType?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const key = init.key === undefined ? target.key : init.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
  const attempt = () =>
    fetch(`${target.url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      body:
        init.body === undefined
          ? undefined
          : typeof init.body === "string"
            ? init.body
            : JSON.stringify(init.body),
      signal: AbortSignal.timeout(30_000),
    });
  // A kept-alive connection the server has just closed fails before the request is sent: once more.
  const response = await attempt().catch(() => attempt());
  return { status: response.status, text: await response.text(), headers: response.headers };
}

const messages = [{ role: "user", content: "What is 2+2?" }];
const chat = (target: Target, reckon?: unknown, extra: Record<string, unknown> = {}) => ({
  model: target.model,
  messages,
  ...(reckon === undefined ? {} : { reckon }),
  ...extra,
});

/** A listener that counts who calls it: a client must not be able to make the proxy call it. */
async function canary(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits += 1;
    req.resume();
    res.writeHead(500).end("canary-reply-must-not-be-echoed");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function hostileRequests(target: Target): Promise<void> {
  console.log("Hostile requests");
  const chatPath = "/v1/chat/completions";
  const bait = await canary();
  try {
    const replies = await Promise.all(
      ["orm", "prm"].map((kind) =>
        send(target, chatPath, {
          body: chat(target, { strategy: "best-of-n", n: 2, verifier: `${kind}:${bait.url}` }),
        }),
      ),
    );
    record(
      "a client's verifier URL is not called",
      bait.hits() === 0 && replies.every((r) => r.status === 400 && !r.text.includes("canary-reply")),
      `statuses ${replies.map((r) => r.status).join(", ")}, ${bait.hits()} calls reached the URL`,
    );
  } finally {
    await bait.close();
  }

  const open = await Promise.all(
    ["/metrics", "/ui", "/ui/api/live", "/v1/models"].map(
      async (path) => [path, (await send(target, path, { key: null })).status] as const,
    ),
  );
  const healthz = await send(target, "/healthz", { key: null });
  record(
    "without a key only /healthz answers",
    open.every(([, status]) => status === 401) && healthz.status === 200,
    `${open.map(([path, status]) => `${path} ${status}`).join(", ")}, /healthz ${healthz.status}`,
  );

  const badNames = await Promise.all(
    ["__proto__", "constructor", "toString"].map((name) =>
      send(target, chatPath, { body: chat(target, { task: name }) }),
    ),
  );
  record(
    "task names like __proto__ are refused",
    badNames.every((r) => r.status === 400),
    `statuses ${badNames.map((r) => r.status).join(", ")}`,
  );

  const caps = await Promise.all([
    send(target, chatPath, { body: chat(target, { strategy: "esc", maxSamples: 4096, windowSize: 256 }) }),
    send(target, chatPath, {
      body: chat(target, { strategy: "iterative-deepening", start: 1024, maxN: 4096 }),
    }),
    send(target, chatPath, { body: chat(target, { strategy: "self-consistency", n: 100_000 }) }),
  ]);
  record(
    "sample counts over the server's cap are refused before spending",
    caps.every((r) => r.status === 400),
    `esc ${caps[0]!.status}, iterative-deepening ${caps[1]!.status}, n=100000 ${caps[2]!.status}`,
  );

  const protocol = await Promise.all([
    send(target, chatPath, { body: JSON.stringify(chat(target)), contentType: "text/plain" }),
    send(target, chatPath, { method: "GET" }),
    send(target, chatPath, { body: `{"model": "${target.model}", "messages": [` }),
    send(target, chatPath, { body: chat(target, { strategy: "self-consistency", depth: 3 }) }),
    send(target, chatPath, { body: "x".repeat(2_000_000) }),
  ]);
  const unknownParam = (() => {
    try {
      return (JSON.parse(protocol[3]!.text) as { error?: { param?: string } }).error?.param;
    } catch {
      return undefined;
    }
  })();
  record(
    "protocol abuse gets the documented statuses",
    protocol[0]!.status === 415 &&
      protocol[1]!.status === 405 &&
      protocol[2]!.status === 400 &&
      unknownParam === "reckon.depth" &&
      protocol[4]!.status === 413,
    `text/plain ${protocol[0]!.status}, GET ${protocol[1]!.status}, broken JSON ${protocol[2]!.status}, unknown option param ${unknownParam}, 2 MB body ${protocol[4]!.status}`,
  );

  if (target.secrets.length > 0) {
    const failing = await send(target, chatPath, {
      body: chat(target, undefined, { model: "no-such-model" }),
    });
    const pages = [
      failing.text,
      (await send(target, "/metrics", { key: target.adminKey })).text,
      (await send(target, "/ui", { key: target.adminKey })).text,
      (await send(target, "/ui/api/live", { key: target.adminKey })).text,
    ];
    const leaks = target.secrets.filter((secret) => pages.some((page) => page.includes(secret)));
    record(
      "no upstream credential in errors, metrics or the dashboard",
      leaks.length === 0,
      leaks.length === 0 ? "none of the upstream's password or key found" : `found ${leaks.length} secret(s)`,
    );
  }
}

async function perKeyLimits(target: Target): Promise<void> {
  console.log("\nPer-key token limit, 100 concurrent requests");
  if (!target.limitedKey || !target.limitedTpm) {
    console.log("  skipped: pass --limited-key and --limited-tpm");
    return;
  }
  const started = performance.now();
  const replies = await Promise.all(
    Array.from({ length: 100 }, () =>
      send(target, "/v1/chat/completions", {
        key: target.limitedKey,
        body: chat(target, { strategy: "self-consistency", n: 8 }),
      }),
    ),
  );
  let spent = 0;
  for (const reply of replies)
    if (reply.status === 200)
      spent += (JSON.parse(reply.text) as { usage: { total_tokens: number } }).usage.total_tokens;
  const counts = new Map<number, number>();
  for (const reply of replies) counts.set(reply.status, (counts.get(reply.status) ?? 0) + 1);
  record(
    `a key limited to ${target.limitedTpm} tokens/min spends at most that`,
    spent <= target.limitedTpm,
    `${spent} tokens spent in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${[...counts]
      .map(([status, n]) => `${n}×${status}`)
      .join(", ")}`,
  );
}

async function distinctModels(target: Target, count: number): Promise<void> {
  console.log(`\nMemory: ${count} distinct 100 KB model names, twice`);
  const metric = async (): Promise<{ rss?: number; heap?: number; bytes: number; ms: number }> => {
    const started = performance.now();
    const reply = await send(target, "/metrics", { key: target.adminKey });
    const ms = performance.now() - started;
    const value = (name: string) => {
      const found = new RegExp(`^${name} (\\d+)`, "m").exec(reply.text)?.[1];
      return found === undefined ? undefined : Number(found);
    };
    return {
      rss: value("reckon_process_resident_memory_bytes"),
      heap: value("reckon_nodejs_heap_size_used_bytes"),
      bytes: reply.text.length,
      ms,
    };
  };
  const filler = "m".repeat(100_000);
  const round = async (name: string) => {
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < count; batch += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, count - batch) }, async (_, i) => {
          const reply = await send(target, "/v1/chat/completions", {
            body: chat(target, undefined, { model: `abuse-${name}-${batch + i}-${filler}` }),
          });
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        }),
      );
    return [...statuses].map(([status, n]) => `${n}×${status}`).join(", ");
  };
  const mb = (bytes?: number) => (bytes === undefined ? "?" : `${(bytes / 2 ** 20).toFixed(0)} MB`);
  const show = (label: string, m: { rss?: number; heap?: number }) =>
    console.log(
      `  ${label.padEnd(28)} resident ${mb(m.rss).padStart(7)}, heap used ${mb(m.heap).padStart(7)}`,
    );
  const before = await metric();
  show("before", before);
  const first = await round("a");
  const middle = await metric();
  show(`after ${count} names (${first})`, middle);
  const second = await round("b");
  const after = await metric();
  show(`after ${2 * count} names (${second})`, after);
  const live = await send(target, "/ui/api/live", { key: target.adminKey });
  // Bounded: the second thousand names must not grow the process as the first did.
  const growth = after.rss !== undefined && middle.rss !== undefined ? after.rss - middle.rss : undefined;
  record(
    "memory stays bounded",
    growth === undefined || growth < 64 * 2 ** 20,
    `resident ${mb(before.rss)} → ${mb(middle.rss)} → ${mb(after.rss)} (second round ${growth === undefined ? "?" : `${growth >= 0 ? "+" : ""}${mb(growth)}`})`,
  );
  record(
    "/metrics stays small and fast",
    after.bytes < before.bytes * 1.5 + 10_000,
    `${(before.bytes / 1024).toFixed(0)} KB in ${before.ms.toFixed(0)} ms before, ${(after.bytes / 1024).toFixed(0)} KB in ${after.ms.toFixed(0)} ms after`,
  );
  record(
    "the dashboard's live list stays small",
    live.text.length < 1_000_000,
    `/ui/api/live is ${(live.text.length / 1024).toFixed(0)} KB`,
  );
}

const role = process.argv[2];
if (role === "upstream") {
  const { startOpenAITestServer } = await import("../test/support/openai-test-server.js");
  const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(" ");
  const server = await startOpenAITestServer({
    respond: () => `${words} \\boxed{4}`,
    models: ["test-model"],
  });
  process.send!({ url: server.url });
  process.on("SIGTERM", () => process.exit(0));
} else if (role === "proxy") {
  const { createReckonServer } = await import("../src/server/app.js");
  const { parseServerConfig } = await import("../src/server/config.js");
  const server = createReckonServer(parseServerConfig(JSON.parse(process.argv[3]!)));
  process.send!({ url: await server.listen() });
  process.on("SIGTERM", () => process.exit(0));
} else {
  await main();
}
