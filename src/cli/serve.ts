import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import {
  parseApiKeyFile,
  parseServerConfig,
  readConfigFile,
  type ServerConfigInput,
} from "../server/config.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { apiKeyFromEnv, envNameSchema, parseFlags } from "./flags.js";

const serveFlagsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  upstream: z.array(z.string()).optional(),
  upstreamApiKey: z.string().min(1).optional(),
  upstreamApiKeyEnv: envNameSchema.optional(),
  model: z.string().min(1).optional(),
  apiKeyFile: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  strategy: z.string().min(1).optional(),
  task: z.string().min(1).optional(),
  verifier: z.array(z.string().min(1)).optional(),
  adminKeyFile: z.string().min(1).optional(),
  db: z.string().min(1).optional(),
  accessLog: z.string().min(1).optional(),
  accessLogContent: z.boolean().optional(),
});

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function serveCommand(): Command {
  return new Command("serve")
    .description(
      "Serve an OpenAI-compatible API that answers with a test-time strategy, in front of upstream servers or an embedded model.",
    )
    .option("--port <port>", "port to listen on (default 8080)")
    .option("--host <host>", "address to bind (default 127.0.0.1)")
    .option(
      "--upstream <url>",
      "an OpenAI-compatible upstream, e.g. http://10.0.0.5:8000/v1 (repeat for a pool)",
      collect,
    )
    .option("--upstream-api-key <key>", "Bearer token for the upstreams (default: $OPENAI_API_KEY)")
    .option(
      "--upstream-api-key-env <name>",
      "read the upstreams' Bearer token from this environment variable",
    )
    .option(
      "--model <path>",
      "serve this GGUF in-process instead (default without --upstream: the bundled model)",
    )
    .option(
      "--api-key-file <file>",
      "client API keys, one per line: KEY [name=…] [concurrency=…] [tokens-per-minute=…]",
    )
    .option("--config <file>", "a YAML or JSON config file (see docs/serve.md); flags override it")
    .option("--strategy <name>", "strategy of requests that name none (default single)")
    .option("--task <name>", "how answers are read and grouped: math, gsm8k, arithmetic")
    .option(
      "--verifier <spec>",
      "NAME=SPEC: a verifier clients may choose by name (e.g. rm=orm:http://10.0.0.7:8000/v1; repeat for more); a plain SPEC or NAME: the default of strategies that need one",
      collect,
    )
    .option(
      "--admin-key-file <file>",
      "keys for /metrics and /ui, one per line (default: any API key opens them)",
    )
    .option("--db <file>", `reckon database whose bench runs /ui shows (default ${defaultDbPath} if present)`)
    .option(
      "--access-log <file>",
      "append one JSON line per request to FILE (- for stderr): key name, route, model, strategy, status, tokens, latency; never a key",
    )
    .option("--access-log-content", "add each request's prompt and answer to its access-log line")
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(serveFlagsSchema, rawFlags);
      const input: ServerConfigInput = flags.config ? readConfigFile(flags.config) : {};
      if (flags.port !== undefined) input.port = flags.port;
      if (flags.host !== undefined) input.host = flags.host;
      if (flags.upstream) input.upstreams = flags.upstream;
      if (flags.upstreamApiKey && flags.upstreamApiKeyEnv)
        throw new InvalidInputError(
          "--upstream-api-key-env",
          "give the key by --upstream-api-key or --upstream-api-key-env, not both",
        );
      if (flags.upstreamApiKey) input.upstreamApiKey = flags.upstreamApiKey;
      if (flags.upstreamApiKeyEnv)
        input.upstreamApiKey = apiKeyFromEnv(flags.upstreamApiKeyEnv, "--upstream-api-key-env");
      if (flags.model) input.model = flags.model;
      if (flags.task) input.task = flags.task;
      for (const entry of flags.verifier ?? []) {
        const named = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(entry);
        if (named) input.verifiers = { ...input.verifiers, [named[1]!]: named[2]! };
        else input.verifier = entry;
      }
      if (flags.adminKeyFile)
        input.adminKeys = [...(input.adminKeys ?? []), ...readKeyLines(flags.adminKeyFile)];
      if (flags.db) input.db = flags.db;
      if (flags.accessLog) input.accessLog = flags.accessLog;
      if (flags.accessLogContent) input.accessLogContent = true;
      if (flags.strategy) input.defaultStrategy = { name: flags.strategy, options: {} };
      if (flags.apiKeyFile) {
        const text = readText(flags.apiKeyFile, "--api-key-file");
        input.apiKeys = [...(input.apiKeys ?? []), ...parseApiKeyFile(text, flags.apiKeyFile)];
      }
      const config = parseServerConfig(input, flags.config ?? "config");
      if (config.accessLogContent && config.accessLog === undefined)
        throw new InvalidInputError(
          "--access-log-content",
          "it adds to the access log: pass --access-log FILE too",
        );
      if (config.accessLog !== undefined && config.accessLog !== "-") checkWritable(config.accessLog);
      if (config.upstreams.length > 0 && config.model !== undefined)
        throw new InvalidInputError("--model", "serve either upstreams or an embedded model, not both");
      const dbPath = config.db ?? (existsSync(defaultDbPath) ? defaultDbPath : undefined);
      const store = dbPath ? openStore(dbPath, { create: false, readonly: true }) : undefined;
      // Loaded by this command alone: the server is most of what the other commands would load.
      const { createReckonServer } = await import("../server/app.js");
      const server = createReckonServer(config, { runs: store });
      const url = await server.listen().catch((error) => {
        store?.close();
        throw error;
      });
      const loopback = /^(127\.|localhost$|::1$)/.test(config.host);
      if (config.apiKeys.length === 0 && !loopback)
        process.stderr.write(
          `reckon: warning: serving on ${config.host} without API keys; anyone who reaches it can spend your compute (--api-key-file)\n`,
        );
      const target =
        config.upstreams.length > 0
          ? `${config.upstreams.length} upstream(s)`
          : (config.model ?? "the bundled model");
      process.stderr.write(
        `reckon: serving ${target} at ${url}/v1 (dashboard ${url}/ui, metrics ${url}/metrics); default strategy ${config.defaultStrategy.name}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(
            `reckon: ${signal}: draining requests in flight (up to ${config.drainMs / 1000} s)\n`,
          );
          server
            .close()
            .finally(() => store?.close())
            .finally(resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
    });
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new InvalidInputError(flag, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** One key per line; blank lines and `#` comments skipped. */
function readKeyLines(path: string): string[] {
  return readText(path, "--admin-key-file")
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** The access log is opened (and created, mode 0600) at start-up: a path that cannot be written is refused now. */
function checkWritable(path: string): void {
  try {
    closeSync(openSync(path, "a", 0o600));
  } catch (error) {
    throw new InvalidInputError("--access-log", `cannot write ${path}: ${(error as Error).message}`);
  }
}
