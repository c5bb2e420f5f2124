/**
 * What `reckon serve` adds to a request: 200 requests kept in flight against a loopback
 * upstream that answers at once, first directly, then through the proxy (strategy `single`).
 * The upstream, the proxy and this load generator run as separate processes.
 *
 *   npx tsx bench/proxy-load.ts [--concurrency 200] [--requests 6000]
 *
 * Prints latency percentiles of both, the proxy's own time per request (its `server-timing`
 * total minus the upstream call), and the throughput ratio proxy/direct.
 * Targets: at most 2 ms added at p99, throughput at least 0.9 of direct.
 */
import { type ChildProcess, fork } from "node:child_process";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: "string", default: "200" },
      requests: { type: "string", default: "6000" },
    },
  });
  const concurrency = Number(values.concurrency);
  const total = Number(values.requests);
  const children: ChildProcess[] = [];
  try {
    const upstream = await spawn("upstream", [], children);
    const proxy = await spawn("proxy", [upstream], children);
    const body = JSON.stringify({
      model: "test-model",
      messages: [{ role: "user", content: "What is 2+2?" }],
    });

    const directUrl = `${upstream}/chat/completions`;
    const proxyUrl = `${proxy}/chat/completions`;
    await load(directUrl, body, concurrency, 1_000); // warm-up: JIT, connection pools
    await load(proxyUrl, body, concurrency, 1_000);
    const direct = await load(directUrl, body, concurrency, total);
    const proxied = await load(proxyUrl, body, concurrency, total);

    const p = (values: number[], q: number) => percentile(values, q).toFixed(2);
    console.log(`${total} requests, ${concurrency} in flight, loopback upstream answering at once`);
    console.log(`                 p50 ms   p99 ms   requests/s`);
    console.log(
      `direct         ${p(direct.latencies, 0.5).padStart(8)} ${p(direct.latencies, 0.99).padStart(8)} ${direct.rps.toFixed(0).padStart(12)}`,
    );
    console.log(
      `through proxy  ${p(proxied.latencies, 0.5).padStart(8)} ${p(proxied.latencies, 0.99).padStart(8)} ${proxied.rps.toFixed(0).padStart(12)}`,
    );
    console.log(
      `added end to end: p50 ${(percentile(proxied.latencies, 0.5) - percentile(direct.latencies, 0.5)).toFixed(2)} ms, p99 ${(percentile(proxied.latencies, 0.99) - percentile(direct.latencies, 0.99)).toFixed(2)} ms`,
    );
    console.log(
      `proxy's own time per request (server-timing total - upstream): p50 ${p(proxied.overheads, 0.5)} ms, p99 ${p(proxied.overheads, 0.99)} ms (target p99 <= 2 ms)`,
    );
    console.log(`throughput proxy/direct: ${(proxied.rps / direct.rps).toFixed(3)} (target >= 0.9)`);
  } finally {
    for (const child of children) child.send("stop");
  }
}

function spawn(name: string, args: string[], children: ChildProcess[]): Promise<string> {
  const child = fork(fileURLToPath(import.meta.url), [name, ...args], {
    execArgv: [
      "--import",
      "tsx",
      ...(name === "proxy" && process.env.PROXY_PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof2"] : []),
    ],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve((message as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`${name} exited with code ${code}`)));
  });
}

/** Keeps `concurrency` requests in flight until `total` are done. */
async function load(
  url: string,
  body: string,
  concurrency: number,
  total: number,
): Promise<{ latencies: number[]; overheads: number[]; rps: number }> {
  const latencies: number[] = [];
  const overheads: number[] = [];
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < total) {
      issued += 1;
      const sent = performance.now();
      const response = await post(url, body);
      if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${url}: ${response.text}`);
      latencies.push(performance.now() - sent);
      const timing = response.serverTiming;
      const total = /total;dur=([\d.]+)/.exec(timing ?? "")?.[1];
      const upstream = /upstream;dur=([\d.]+)/.exec(timing ?? "")?.[1];
      if (total && upstream) overheads.push(Number(total) - Number(upstream));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, overheads, rps: total / ((performance.now() - started) / 1000) };
}

// node:http with keep-alive: Node 20's fetch costs several times more CPU per request and
// would make the load generator, not the servers, the bottleneck.
let agent: Agent | undefined;

function post(url: string, body: string): Promise<{ status: number; text: string; serverTiming?: string }> {
  const target = new URL(url);
  agent ??= new Agent({ keepAlive: true, maxSockets: 1024 });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            serverTiming: res.headers["server-timing"] as string | undefined,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const role = process.argv[2];

if (role === "upstream") {
  const { startOpenAITestServer } = await import("../test/support/openai-test-server.js");
  const server = await startOpenAITestServer({ respond: () => "The answer is 4." });
  process.send!({ url: server.url });
  process.on("message", () => process.exit(0));
} else if (role === "proxy") {
  const { createReckonServer } = await import("../src/server/app.js");
  const { parseServerConfig } = await import("../src/server/config.js");
  const server = createReckonServer(
    parseServerConfig({ port: 0, upstreams: [process.argv[3]!], recentRequests: 200 }),
  );
  process.send!({ url: `${await server.listen()}/v1` });
  process.on("message", () => process.exit(0));
} else {
  await main();
}
