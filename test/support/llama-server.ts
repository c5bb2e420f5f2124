/**
 * llama.cpp's own OpenAI-compatible server (`llama-server`, built by
 * tools/build-llama-server.mjs from the release node-llama-cpp ships) on 127.0.0.1, for tests
 * and benches that need a real server nobody here wrote.
 *
 *   const server = await startLlamaServer({ parallel: 8 });   // the bundled model by default
 *   createOpenAIBackend({ baseURL: server.url, model: "reckon-tiny", mode: "completion" });
 *   await server.close();
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

export interface LlamaServer {
  /** The API root, ending in /v1. */
  url: string;
  /** The server's own root, for its native endpoints (/health, /slots, /metrics). */
  origin: string;
  /** What the server printed, for diagnosing a failed test. */
  log(): string;
  close(): Promise<void>;
}

export interface LlamaServerOptions {
  /** A GGUF file; the bundled reckon-tiny by default. */
  model?: string;
  /** Slots decoding at once (`--parallel`). */
  parallel?: number;
  /** Context size shared by all slots (`--ctx-size`). */
  contextSize?: number;
  threads?: number;
  extraArgs?: string[];
}

/** The folder of the built llama.cpp programs, building them first when missing. */
export function llamaCppBin(): string {
  const built = spawnSync(process.execPath, [join(root, "tools/build-llama-server.mjs")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const bin = built.stdout.trim();
  if (built.status !== 0 || !existsSync(join(bin, "llama-server")))
    throw new Error("llama-server is not built: run `node tools/build-llama-server.mjs`");
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

export async function startLlamaServer(options: LlamaServerOptions = {}): Promise<LlamaServer> {
  const model = options.model ?? join(root, "models/reckon-tiny.gguf");
  const parallel = options.parallel ?? 4;
  const port = await freePort();
  const args = [
    "--model",
    model,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--parallel",
    String(parallel),
    "--ctx-size",
    String(options.contextSize ?? 512 * parallel),
    "--threads",
    String(options.threads ?? 1),
    "--no-webui",
    "--log-disable",
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(join(llamaCppBin(), "llama-server"), args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const origin = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${output}`);
    try {
      const health = await fetch(`${origin}/health`);
      if (health.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`llama-server did not become healthy within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `${origin}/v1`, origin, log: () => output, close };
}
