/**
 * `reckon serve` settings: a config file (JSON or YAML) validated here, with command-line
 * flags on top. Every field has a safe default, so `reckon serve` alone serves the bundled model.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { budgetSchema } from "../core/budget.js";
import { InvalidInputError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";

export const apiKeySchema = z
  .object({
    key: z.string().min(8, "an API key needs at least 8 characters"),
    /** Shown in logs, metrics and the dashboard instead of the key. */
    name: z.string().min(1).optional(),
    /** Requests of this key in flight at once. */
    maxConcurrent: z.number().int().positive().optional(),
    /** Tokens (prompt, completion and verifier) this key may spend per rolling minute. */
    tokensPerMinute: z.number().int().positive().optional(),
  })
  .strict();
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;

/** Verifier names operators give: plain words, never something that looks like a spec or URL. */
export const verifierNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a verifier name is letters, digits, '.', '_' and '-'");

export const limitsSchema = z
  .object({
    /** Largest request body. */
    maxBodyBytes: z.number().int().positive().default(1_000_000),
    /** Largest sample count (`n`) a request may ask a strategy for. */
    maxSamples: z.number().int().positive().default(64),
    /** Largest token budget (`reckon.budget.maxTokens`) a request may ask for. */
    maxBudgetTokens: z.number().int().positive().default(200_000),
    /** Largest `max_tokens` per sample. */
    maxTokensPerSample: z.number().int().positive().default(32_768),
    /** Requests in flight at once over all keys; beyond it, 429. */
    maxConcurrentRequests: z.number().int().positive().default(512),
    /** Longest a request may run, upstream retries included; then it is cancelled (504). */
    maxRequestMs: z.number().int().positive().default(600_000),
    /** Characters of a model name, answer or error kept per request for the dashboard. */
    maxRecordedChars: z.number().int().positive().default(200),
  })
  .strict();

export const serverConfigSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(8080),
    host: z.string().min(1).default("127.0.0.1"),
    /** OpenAI-compatible servers to pool (base URLs ending in /v1); none: an embedded model. */
    upstreams: z.array(z.url({ protocol: /^https?$/ })).default([]),
    /** Sent to the upstreams as a Bearer token. */
    upstreamApiKey: z.string().min(1).optional(),
    /** Requests in flight to each upstream at once. */
    upstreamConcurrency: z.number().int().positive().default(256),
    /**
     * Longest silence of an upstream per attempt: no answer, or no byte of a streamed one,
     * for this long and the attempt is given up (another upstream is tried).
     */
    upstreamTimeoutMs: z.number().positive().default(60_000),
    pool: z
      .object({
        maxAttempts: z.number().int().positive().optional(),
        failureThreshold: z.number().int().positive().optional(),
        ejectMs: z.number().nonnegative().optional(),
        affinity: z.boolean().optional(),
      })
      .strict()
      .default({}),
    /** A GGUF file served in-process; default (with no upstreams): the bundled model. */
    model: z.string().min(1).optional(),
    /** Used when a request names no strategy (no `reckon` object, no model prefix). */
    defaultStrategy: z
      .object({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) })
      .strict()
      .default({ name: "single", options: {} }),
    /** How answers are read and grouped; default: math, or arithmetic for the bundled model. */
    task: z.string().min(1).optional(),
    /**
     * The verifiers clients may choose by name (`reckon.verifier: "NAME"`): name → spec, e.g.
     * `{ rm: "orm:http://10.0.0.7:8000/v1" }`. Only these (and `default`) reach the network:
     * a client never names a URL.
     */
    verifiers: z.record(verifierNameSchema, z.string().min(1)).default({}),
    /** The verifier of requests that name none: a name in `verifiers`, or a spec. */
    verifier: z.string().min(1).optional(),
    /** A budget for requests that set none (default: none; `n` and `max_tokens` bound them). */
    budget: budgetSchema.optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    /** API keys; none means no authentication (serve on loopback only, then). */
    apiKeys: z.array(apiKeySchema).default([]),
    /**
     * Keys for /metrics and /ui (Bearer, or a browser's Basic password). Without them, those
     * pages take any API key; with neither, they are open like the API.
     */
    adminKeys: z.array(z.string().min(8, "an admin key needs at least 8 characters")).default([]),
    /** Limits of keys that set none. */
    keyDefaults: z
      .object({
        maxConcurrent: z.number().int().positive().default(64),
        tokensPerMinute: z.number().int().positive().optional(),
        /**
         * Tokens a request of a key with a token limit reserves from the key's window when it
         * sets no budget of its own; that is then its budget.
         */
        requestTokens: z.number().int().positive().default(16_000),
      })
      .strict()
      .default({ maxConcurrent: 64, requestTokens: 16_000 }),
    /** How long shutdown waits for requests in flight before cancelling them. */
    drainMs: z.number().nonnegative().default(30_000),
    /** Requests kept for the dashboard's live view. */
    recentRequests: z.number().int().nonnegative().default(200),
    /** A reckon database whose bench runs the dashboard shows. */
    db: z.string().min(1).optional(),
    /** Appends one JSON line per request to this file (`-`: stderr); none: no access log. */
    accessLog: z.string().min(1).optional(),
    /** Adds each request's prompt and answer to its access-log line (never a credential). */
    accessLogContent: z.boolean().default(false),
  })
  .strict();

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

export function parseServerConfig(input: unknown, where = "config"): ServerConfig {
  return parseOrThrow(serverConfigSchema, input, where);
}

/** Reads a config file: YAML or JSON (JSON is YAML). */
export function readConfigFile(path: string): ServerConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new InvalidInputError("--config", `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return (parseYaml(text) ?? {}) as ServerConfigInput;
  } catch (error) {
    throw new InvalidInputError("--config", `${path} is not valid YAML or JSON: ${(error as Error).message}`);
  }
}

/**
 * Parses an API key file: one key per line, optionally followed by `name=…`,
 * `concurrency=…` and `tokens-per-minute=…`; blank lines and `#` comments are skipped.
 */
export function parseApiKeyFile(text: string, path = "API key file"): ApiKeyConfig[] {
  const keys: ApiKeyConfig[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const [key, ...fields] = line.split(/\s+/);
    const entry: Record<string, unknown> = { key };
    for (const field of fields) {
      const [name, value] = field.split("=", 2);
      const numeric = Number(value);
      if (name === "name" && value) entry.name = value;
      else if (name === "concurrency") entry.maxConcurrent = numeric;
      else if (name === "tokens-per-minute") entry.tokensPerMinute = numeric;
      else
        throw new InvalidInputError(
          `${path} line ${i + 1}`,
          `unknown field "${field}"`,
          "fields are name=…, concurrency=… and tokens-per-minute=…",
        );
    }
    keys.push(parseOrThrow(apiKeySchema, entry, `${path} line ${i + 1}`));
  });
  return keys;
}
