import { existsSync, readFileSync } from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { createReckonServer } from "../server/app.js";
import {
  parseApiKeyFile,
  parseServerConfig,
  readConfigFile,
  type ServerConfigInput,
} from "../server/config.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { parseFlags } from "./flags.js";

const serveFlagsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535).optional(),
  host: z.string().min(1).optional(),
  upstream: z.array(z.string()).optional(),
  upstreamApiKey: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  apiKeyFile: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  strategy: z.string().min(1).optional(),
  task: z.string().min(1).optional(),
  verifier: z.string().min(1).optional(),
  db: z.string().min(1).optional(),
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
    .option("--verifier <spec>", "verifier for strategies that need one")
    .option("--db <file>", `reckon database whose bench runs /ui shows (default ${defaultDbPath} if present)`)
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(serveFlagsSchema, rawFlags);
      const input: ServerConfigInput = flags.config ? readConfigFile(flags.config) : {};
      if (flags.port !== undefined) input.port = flags.port;
      if (flags.host !== undefined) input.host = flags.host;
      if (flags.upstream) input.upstreams = flags.upstream;
      if (flags.upstreamApiKey) input.upstreamApiKey = flags.upstreamApiKey;
      if (flags.model) input.model = flags.model;
      if (flags.task) input.task = flags.task;
      if (flags.verifier) input.verifier = flags.verifier;
      if (flags.db) input.db = flags.db;
      if (flags.strategy) input.defaultStrategy = { name: flags.strategy, options: {} };
      if (flags.apiKeyFile) {
        let text: string;
        try {
          text = readFileSync(flags.apiKeyFile, "utf8");
        } catch (error) {
          throw new InvalidInputError(
            "--api-key-file",
            `cannot read ${flags.apiKeyFile}: ${(error as Error).message}`,
          );
        }
        input.apiKeys = [...(input.apiKeys ?? []), ...parseApiKeyFile(text, flags.apiKeyFile)];
      }
      const config = parseServerConfig(input, flags.config ?? "config");
      if (config.upstreams.length > 0 && config.model !== undefined)
        throw new InvalidInputError("--model", "serve either upstreams or an embedded model, not both");
      const dbPath = config.db ?? (existsSync(defaultDbPath) ? defaultDbPath : undefined);
      const store = dbPath ? openStore(dbPath, { create: false }) : undefined;
      const server = createReckonServer(config, { runs: store });
      const url = await server.listen();
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
