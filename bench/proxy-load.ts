/**
 * What `reckon serve` adds to a request: 200 requests kept in flight against a loopback
 * upstream that answers at once, directly, through a minimal forwarder (about 20 lines of hono
 * and undici that parse the JSON body, forward it on kept-alive connections and serialise the
 * answer again) and through `reckon serve` (strategy `single`), the last two in alternating
 * pairs. The upstream, the forwarder, the proxy and this load generator are separate processes.
 * The proxy runs as `reckon serve` does once installed: compiled by tsc (the package's build,
 * into node_modules/.cache/reckon-proxy-load). `--source` runs it from the TypeScript sources
 * under tsx instead, which costs more per request: tsx keeps function names by redefining the
 * `name` of every closure it creates, which makes each one slow to create and several times
 * larger.
 *
 *   npx tsx bench/proxy-load.ts [--concurrency 200] [--requests 3000] [--pairs 3] [--source]
 *       [--against DIR]   # + another build of src (e.g. an older checkout's tsc output), run in turn with this one
 *       [--layers]        # + where the CPU goes, layer by layer (below)
 *       [--heap]          # + live heap per request in flight (below)
 *       [--stream TOKENS] # answers streamed, TOKENS events each (below)
 *   PROXY_PROF=1 npx tsx bench/proxy-load.ts     # + CPU profiles of the measured runs in /tmp/prof2
 *   PROXY_PROF=heap npx tsx bench/proxy-load.ts  # + allocation profiles instead
 *
 * Prints latency percentiles of each, the throughput ratio reckon serve / forwarder (target
 * at least 0.9), the p99 it adds over the forwarder, and the proxy's own time per request
 * (its `server-timing` total minus the upstream call).
 *
 * `--layers` also measures, in turn with the others, the CPU per request of three more servers
 * that take a request apart: hono answering a fixed JSON body without calling anything (the
 * HTTP floor), the forwarder with undici's dispatcher instead of its request API (the
 * cheapest upstream call), and `reckon serve` with a model that answers at once in its own
 * process (its pipeline without the upstream call).
 *
 * `--stream` has the upstream stream each answer as TOKENS events, one per turn of its event
 * loop, and the clients ask for streams: the forwarder pipes the upstream's bytes through, and
 * reckon serve reads each event and writes its own. It also prints the CPU per streamed token.
 *
 * `--heap` puts the forwarder and `reckon serve` in front of an upstream that answers after a
 * second, and prints how much live heap each holds per request while 200 wait on it: the state
 * that young-generation collections copy over and over under load.
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { Session } from "node:inspector";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: "string", default: "200" },
      requests: { type: "string", default: "3000" },
      pairs: { type: "string", default: "3" },
      source: { type: "boolean", default: false },
      against: { type: "string" },
      layers: { type: "boolean", default: false },
      heap: { type: "boolean", default: false },
      stream: { type: "string" },
    },
  });
  const concurrency = Number(values.concurrency);
  const total = Number(values.requests);
  // Tokens of each streamed answer, or 0 for answers at once.
  const streamed = values.stream === undefined ? 0 : Number(values.stream);
  if (values.stream !== undefined && !(Number.isInteger(streamed) && streamed > 0))
    throw new Error(`--stream takes a number of tokens, not ${values.stream}`);
  if (streamed && (values.layers || values.heap))
    throw new Error("--stream measures whole streams: run --layers and --heap without it");
  const server = values.source ? fileURLToPath(new URL("../src", import.meta.url)) : build();
  const children: ChildProcess[] = [];
  try {
    const upstream = await spawn("upstream", ["0", String(streamed)], children);
    const proxy = await spawn("proxy", [upstream, server], children);
    const forwarder = await spawn("forwarder", [upstream], children);
    // Another build of the server, measured in turn with this one: run-to-run noise on a busy
    // machine is larger than most single changes.
    const against = values.against
      ? await spawn("proxy", [upstream, resolve(values.against)], children)
      : undefined;
    const againstChild = against ? children.at(-1) : undefined;
    // Each started now, so that all share the warm-up and the machine's moments with the others.
    const layers: { name: string; url: string; child: ChildProcess }[] = [];
    if (values.layers)
      for (const [name, role, args] of [
        ["HTTP floor (hono, fixed answer)", "floor", []],
        ["forwarder on undici's dispatcher", "dispatch-forwarder", [upstream]],
        ["reckon serve, model in process", "instant", [server]],
      ] as const) {
        const url = `${await spawn(role, [...args], children)}/chat/completions`;
        layers.push({ name, url, child: children.at(-1)! });
      }
    const body = JSON.stringify({
      model: "test-model",
      messages: [{ role: "user", content: "What is 2+2?" }],
      ...(streamed ? { stream: true } : {}),
    });
    const urls = {
      direct: `${upstream}/chat/completions`,
      forwarder: `${forwarder}/chat/completions`,
      proxy: `${proxy}/chat/completions`,
      ...(against ? { against: `${against}/chat/completions` } : {}),
    };
    for (const url of [...Object.values(urls), ...layers.map((l) => l.url)])
      await load(url, body, concurrency, 1_000); // warm-up
    const direct = await load(urls.direct, body, concurrency, total);
    // Forwarder and proxy in alternating pairs, so that a slow moment of the machine hits both.
    const [, proxyChild, forwarderChild] = children as ChildProcess[];
    const runs: {
      forwarder: Measured & { cpuMsPerRequest: number };
      proxy: Measured & { cpuMsPerRequest: number };
      against?: Measured & { cpuMsPerRequest: number };
    }[] = [];
    const measure = (child: ChildProcess, url: string) =>
      withCpu(child, total, () => load(url, body, concurrency, total));
    const layerCpu = new Map<string, number[]>(layers.map((l) => [l.name, []]));
    for (let pair = 0; pair < Number(values.pairs); pair++) {
      for (const layer of layers)
        layerCpu.get(layer.name)!.push((await measure(layer.child, layer.url)).cpuMsPerRequest);
      const forwarderRun = await measure(forwarderChild!, urls.forwarder);
      if (!againstChild || !urls.against) {
        runs.push({ forwarder: forwarderRun, proxy: await measure(proxyChild!, urls.proxy) });
        continue;
      }
      // The two builds take turns at going first, so that neither always follows the forwarder.
      const first = pair % 2 === 0;
      const proxyFirst = first ? await measure(proxyChild!, urls.proxy) : undefined;
      const againstRun = await measure(againstChild, urls.against);
      const proxyRun = proxyFirst ?? (await measure(proxyChild!, urls.proxy));
      runs.push({ forwarder: forwarderRun, proxy: proxyRun, against: againstRun });
    }

    const p = (values: number[], q: number) => percentile(values, q).toFixed(2);
    const row = (name: string, m: Measured) =>
      console.log(
        `${name.padEnd(22)} ${p(m.latencies, 0.5).padStart(8)} ${p(m.latencies, 0.99).padStart(8)} ${m.rps.toFixed(0).padStart(12)}`,
      );
    console.log(
      `${total} requests per run, ${concurrency} in flight, loopback upstream answering at once${streamed ? ` in a stream of ${streamed} tokens` : ""}; reckon serve ${values.source ? "from its sources under tsx" : "as built by tsc"}`,
    );
    console.log(`                         p50 ms   p99 ms   requests/s`);
    row("direct", direct);
    runs.forEach((r, i) => {
      row(`minimal forwarder #${i + 1}`, r.forwarder);
      row(`reckon serve #${i + 1}`, r.proxy);
      if (r.against) row(`--against build #${i + 1}`, r.against);
    });
    const ratios = runs.map((r) => r.proxy.rps / r.forwarder.rps);
    const addedP99 = runs.map(
      (r) => percentile(r.proxy.latencies, 0.99) - percentile(r.forwarder.latencies, 0.99),
    );
    const overheads = runs.flatMap((r) => r.proxy.overheads);
    console.log(
      `throughput reckon serve / minimal forwarder: ${ratios.map((r) => r.toFixed(2)).join(", ")} (median ${median(ratios).toFixed(2)}; target >= 0.9)`,
    );
    console.log(
      `added p99 over the forwarder: ${addedP99.map((v) => `${v.toFixed(1)} ms`).join(", ")} (median ${median(addedP99).toFixed(1)} ms)`,
    );
    // (A stream's headers go out before its answer is known.)
    if (overheads.length > 0)
      console.log(
        `proxy's own time per request (server-timing total - upstream): p50 ${p(overheads, 0.5)} ms, p99 ${p(overheads, 0.99)} ms`,
      );
    // CPU per request holds on a busy machine, where wall-clock throughput does not.
    const cpu = (side: "forwarder" | "proxy") => median(runs.map((r) => r[side].cpuMsPerRequest));
    console.log(
      `CPU per request: minimal forwarder ${cpu("forwarder").toFixed(3)} ms, reckon serve ${cpu("proxy").toFixed(3)} ms (ratio ${(cpu("forwarder") / cpu("proxy")).toFixed(2)}: the throughput ratio when CPU-bound)`,
    );
    if (streamed)
      console.log(
        `CPU per streamed token: minimal forwarder ${((cpu("forwarder") / streamed) * 1000).toFixed(2)} µs, reckon serve ${((cpu("proxy") / streamed) * 1000).toFixed(2)} µs`,
      );
    for (const [name, cpus] of layerCpu)
      console.log(
        `CPU per request, ${name}: ${median(cpus).toFixed(3)} ms (${cpus.map((v) => v.toFixed(3)).join(", ")})`,
      );
    if (values.against) {
      // Run by run: each pair of runs shared the machine's moment.
      const relative = runs.map((r) => r.proxy.cpuMsPerRequest / r.against!.cpuMsPerRequest);
      console.log(
        `--against build: CPU per request ${median(runs.map((r) => r.against!.cpuMsPerRequest)).toFixed(3)} ms; this build / it, run by run: ${relative.map((v) => v.toFixed(2)).join(", ")} (median ${median(relative).toFixed(2)})`,
      );
    }
    if (values.heap) await heapInFlight(server, body, concurrency, children);
  } finally {
    for (const child of children) child.send("stop");
  }
}

/** Live heap per request in flight, of the forwarder and of reckon serve, before a slow upstream. */
async function heapInFlight(server: string, body: string, concurrency: number, children: ChildProcess[]) {
  const slow = await spawn("upstream", ["1000"], children);
  for (const [name, role, args] of [
    ["minimal forwarder", "forwarder", [slow]],
    ["reckon serve", "proxy", [slow, server]],
  ] as const) {
    const url = `${await spawn(role, [...args], children, ["--expose-gc"])}/chat/completions`;
    const child = children.at(-1)!;
    await load(url, body, concurrency, 2 * concurrency); // warm-up
    const idle = await heapOf(child);
    const inFlight = load(url, body, concurrency, concurrency);
    // Long enough for every request to reach the upstream, well short of its answer.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = await heapOf(child);
    await inFlight;
    console.log(
      `live heap per request in flight, ${name}: ${((busy - idle) / concurrency / 1024).toFixed(1)} KB`,
    );
  }
}

/**
 * Compiles `src` as the package's build does (tsconfig.build.json), incrementally, into a cache
 * folder inside node_modules (where the server's own dependencies resolve), and returns it.
 */
function build(): string {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const cache = join(root, "node_modules/.cache/reckon-proxy-load");
  const out = join(cache, "dist");
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      ...["-p", join(root, "tsconfig.build.json"), "--outDir", out, "--declaration", "false"],
      ...["--sourceMap", "false", "--incremental", "--tsBuildInfoFile", join(cache, "tsbuildinfo")],
    ],
    { encoding: "utf8" },
  );
  // Type errors still leave JavaScript behind; only a build that wrote nothing is fatal.
  if (!existsSync(join(out, "server/app.js")))
    throw new Error(`tsc wrote no build: ${result.stdout}${result.stderr}`);
  if (result.status !== 0) console.error(`tsc reported errors (the build ran anyway):\n${result.stdout}`);
  // Outside the package's own folder the nearest package.json would not say "module".
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
  console.error(`built reckon serve in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

interface Measured {
  latencies: number[];
  overheads: number[];
  rps: number;
}

const median = (values: number[]) => percentile(values, 0.5);

function spawn(
  name: string,
  args: string[],
  children: ChildProcess[],
  flags: string[] = [],
): Promise<string> {
  const child = fork(fileURLToPath(import.meta.url), [name, ...args], {
    execArgv: ["--import", "tsx", ...flags],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve((message as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`${name} exited with code ${code}`)));
  });
}

/** Keeps `concurrency` requests in flight until `total` are done. */
async function load(url: string, body: string, concurrency: number, total: number): Promise<Measured> {
  const latencies: number[] = [];
  const overheads: number[] = [];
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < total) {
      issued += 1;
      const sent = performance.now();
      // A kept-alive connection reset under load is tried once more, as a client would.
      const response = await post(url, body).catch(() => post(url, body));
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

/**
 * A child answers "cpu" with the CPU time it has used so far; with PROXY_PROF it profiles
 * between "profile-start" and "profile-stop" (one file per measured run,
 * /tmp/prof2/ROLE-N.cpuprofile, so that start-up and warm-up stay out); it exits on anything else.
 */
function answerControl(): void {
  let session: Session | undefined;
  let runs = 0;
  process.on("message", (message) => {
    if (message === "cpu")
      process.send!({ cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000 });
    else if (message === "heap") {
      // What is still referenced: a full collection first (the child runs with --expose-gc).
      globalThis.gc?.();
      process.send!({ heapUsed: process.memoryUsage().heapUsed });
    } else if (message === "profile-start") {
      session ??= new Session();
      session.connect();
      if (process.env.PROXY_PROF === "heap")
        session.post(
          "HeapProfiler.startSampling",
          {
            samplingInterval: 4096,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          },
          () => process.send!({ profiling: true }),
        );
      else
        session.post("Profiler.enable", () =>
          session!.post("Profiler.start", () => process.send!({ profiling: true })),
        );
    } else if (message === "profile-stop") {
      const heap = process.env.PROXY_PROF === "heap";
      session!.post(heap ? "HeapProfiler.stopSampling" : "Profiler.stop", (error, result) => {
        if (error) throw error;
        mkdirSync("/tmp/prof2", { recursive: true });
        runs += 1;
        writeFileSync(
          `/tmp/prof2/${role}-${runs}.${heap ? "heapprofile" : "cpuprofile"}`,
          JSON.stringify((result as { profile: unknown }).profile),
        );
        session!.disconnect();
        process.send!({ profiling: false });
      });
    } else process.exit(0);
  });
}

/** Sends `message` to a child and resolves with `field` of its first answer that carries it. */
function ask(
  child: ChildProcess,
  message: string,
  field: "cpuMs" | "heapUsed" | "profiling",
): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (answer: unknown) => {
      const value = (answer as Record<string, unknown>)[field];
      if (value === undefined) return;
      child.off("message", onMessage);
      resolve(value);
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

/** The heap a child still uses after a full collection, in bytes. */
const heapOf = (child: ChildProcess) => ask(child, "heap", "heapUsed") as Promise<number>;

/** CPU milliseconds a child has used so far. */
const cpuOf = (child: ChildProcess) => ask(child, "cpu", "cpuMs") as Promise<number>;

/** Runs `work` and says how many CPU milliseconds `child` spent meanwhile, per request. */
async function withCpu<T extends Measured>(child: ChildProcess, requests: number, work: () => Promise<T>) {
  if (process.env.PROXY_PROF) await ask(child, "profile-start", "profiling");
  const before = await cpuOf(child);
  const measured = await work();
  const cpuMsPerRequest = ((await cpuOf(child)) - before) / requests;
  if (process.env.PROXY_PROF) await ask(child, "profile-stop", "profiling");
  return { ...measured, cpuMsPerRequest };
}

/** The server's code: its build, or its sources (then run by tsx). */
async function serverCode(dir: string) {
  const code = pathToFileURL(dir).href;
  const { createReckonServer } = (await import(
    `${code}/server/app.js`
  )) as typeof import("../src/server/app.js");
  const { parseServerConfig } = (await import(
    `${code}/server/config.js`
  )) as typeof import("../src/server/config.js");
  return { createReckonServer, parseServerConfig };
}

/** Serves a hono app on a free loopback port, tells the parent its URL and answers its control messages. */
async function serveApp(app: import("hono").Hono): Promise<void> {
  const { serve } = await import("@hono/node-server");
  serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
    process.send!({ url: `http://127.0.0.1:${info.port}/v1` }),
  );
  answerControl();
}

/**
 * An upstream that streams every chat answer as `tokens` events, one per turn of its event
 * loop as a decoding server sends them, then the usage and `[DONE]`.
 */
async function streamingUpstream(tokens: number): Promise<void> {
  const { createServer } = await import("node:http");
  const event = (delta: object, finish: string | null, usage?: object) =>
    `data: ${JSON.stringify({ id: "chatcmpl-0", object: "chat.completion.chunk", created: 0, model: "test-model", choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  const token = event({ content: " 4" }, null);
  const end = `${event({}, "stop", { prompt_tokens: 3, completion_tokens: tokens, total_tokens: tokens + 3 })}data: [DONE]\n\n`;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(event({ role: "assistant", content: "" }, null));
      let sent = 0;
      const next = () => {
        if (sent++ < tokens) {
          res.write(token);
          setImmediate(next);
        } else res.end(end);
      };
      setImmediate(next);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.send!({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1` });
}

const role = process.argv[2];

if (role === "upstream" && Number(process.argv[4] ?? 0) > 0) {
  await streamingUpstream(Number(process.argv[4]));
  answerControl();
} else if (role === "upstream") {
  const { startOpenAITestServer } = await import("../test/support/openai-test-server.js");
  // Answering at once, or after the milliseconds given.
  const latencyMs = Number(process.argv[3] ?? 0);
  const server = await startOpenAITestServer({ respond: () => "The answer is 4.", latencyMs });
  process.send!({ url: server.url });
  answerControl();
} else if (role === "proxy") {
  const { createReckonServer, parseServerConfig } = await serverCode(process.argv[4]!);
  const server = createReckonServer(
    parseServerConfig({ port: 0, upstreams: [process.argv[3]!], recentRequests: 200 }),
  );
  process.send!({ url: `${await server.listen()}/v1` });
  answerControl();
} else if (role === "instant") {
  // reckon serve's whole pipeline, with a model that answers at once in this process.
  const { createReckonServer, parseServerConfig } = await serverCode(process.argv[3]!);
  const backend: import("../src/core/backend.js").Backend = {
    id: "instant",
    capabilities: {
      chat: true,
      multipleSamples: true,
      logprobs: false,
      continuation: false,
      promptScoring: false,
      streaming: false,
      stopSequences: false,
    },
    generate: async (request) => ({
      completions: Array.from({ length: request.n }, () => ({
        text: "The answer is 4.",
        finishReason: "eos" as const,
        tokens: 4,
      })),
      usage: { promptTokens: 3, completionTokens: 4 * request.n, calls: 1, latencyMs: 0, estimated: false },
    }),
  };
  const server = createReckonServer(parseServerConfig({ port: 0, recentRequests: 200 }), {
    source: {
      list: async () => ["test-model"],
      backendFor: async () => backend,
      defaultTask: "math",
      close: async () => {},
    },
  });
  process.send!({ url: `${await server.listen()}/v1` });
  answerControl();
} else if (role === "floor") {
  // The HTTP work every server here does: parse the JSON body, answer a JSON body.
  const { Hono } = await import("hono");
  const answer = {
    id: "cmpl-0",
    object: "chat.completion",
    created: 0,
    model: "test-model",
    choices: [
      { index: 0, message: { role: "assistant", content: "The answer is 4." }, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  };
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    await c.req.json();
    return c.json(answer);
  });
  await serveApp(app);
} else if (role === "dispatch-forwarder") {
  // The forwarder below with undici's lowest-level API: the answer's bytes collected as they come.
  const { Hono } = await import("hono");
  const { Agent } = await import("undici");
  const upstream = new URL(process.argv[3]!);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const forward = (payload: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const chunks: Buffer[] = [];
      dispatcher.dispatch(
        {
          origin: upstream.origin,
          path: `${upstream.pathname}/chat/completions`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(payload),
        },
        {
          // (undici takes a handler without onRequestStart for one of its older kind)
          onRequestStart: () => {},
          onResponseData: (_controller, chunk) => chunks.push(chunk),
          onResponseEnd: () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))),
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => c.json(await forward(await c.req.json())));
  await serveApp(app);
} else if (role === "forwarder") {
  // The least a proxy must do: parse the JSON body, forward it on kept-alive connections,
  // parse the answer and serialise it again.
  const { Hono } = await import("hono");
  const { Agent, request } = await import("undici");
  const upstream = process.argv[3]!;
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const app = new Hono();
  app.post("/v1/chat/completions", async (c) => {
    const body = await c.req.json();
    const response = await request(`${upstream}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      dispatcher,
    });
    // A stream is piped through as it comes.
    if (body.stream)
      return new Response(Readable.toWeb(response.body) as ReadableStream, {
        headers: { "content-type": "text/event-stream" },
      });
    return c.json(await response.body.json(), response.statusCode as 200);
  });
  await serveApp(app);
} else {
  await main();
}
