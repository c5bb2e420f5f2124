import { Option } from "commander";
import { z } from "zod";
import type { RetryEvent } from "../backends/openai-http.js";
import { InvalidInputError } from "../core/errors.js";

/** Parses commander's flags with a schema; errors name the flag as typed (`--max-tokens`). */
export function parseFlags<Schema extends z.ZodType>(schema: Schema, flags: unknown): z.output<Schema> {
  const parsed = schema.safeParse(flags);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  throw new InvalidInputError(`flag --${name}`, issue.message);
}

/** `--timeout` and `--retries`, for the commands that may call an OpenAI-compatible server. */
export const timeoutOption = () =>
  new Option("--timeout <seconds>", "seconds per attempt of a request to the server (default 300)");
export const retriesOption = () =>
  new Option(
    "--retries <count>",
    "retries of a failed request: 5xx, 429, timeouts, network errors (default 4)",
  );

export const serverFlagsSchema = z.object({
  timeout: z.coerce.number().positive().max(86_400).optional(),
  retries: z.coerce.number().int().min(0).max(100).optional(),
});

/** Backend options from `--timeout` and `--retries`, with every retry reported on stderr as it happens. */
export function serverBackendOptions(
  flags: z.output<typeof serverFlagsSchema>,
  stream: NodeJS.WritableStream = process.stderr,
): { timeoutMs?: number; maxRetries?: number; onRetry: (event: RetryEvent) => void } {
  return {
    timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
    maxRetries: flags.retries,
    onRetry: (event) => stream.write(`${formatRetry(event)}\n`),
  };
}

export function formatRetry(event: RetryEvent): string {
  const reason = event.reason.split("\n")[0]!;
  return `reckon: ${reason}; retry ${event.retry} in ${(event.delayMs / 1000).toFixed(1)} s`;
}

/** Run ids become file and folder names (`reports/<id>`): plain characters only, no leading dot. */
export const runIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/,
    "use only letters, digits, '.', '_' and '-', not starting with '.'",
  )
  .max(128);

/** `--api-key-env NAME`: the name of an environment variable, never the key itself. */
export const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the name of an environment variable, e.g. MY_API_KEY");

/**
 * The API key held by the environment variable `name` (from `--api-key-env`); a variable that is
 * not set, or empty, is an error naming it. No name: undefined.
 */
export function apiKeyFromEnv(
  name: string | undefined,
  flag = "--api-key-env",
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (name === undefined) return undefined;
  const key = env[name];
  if (key === undefined || key.trim() === "")
    throw new InvalidInputError(
      flag,
      `the environment variable ${name} is ${key === undefined ? "not set" : "empty"}`,
      `set it (export ${name}=…) or name the variable that holds the key`,
    );
  return key.trim();
}

/** `--options '<json>'`: a JSON object of strategy options (checked by the strategy's schema later). */
export function strategyOptionsFlag(raw: string | undefined, flag = "--options"): Record<string, unknown> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new InvalidInputError(
      flag,
      `is not JSON: ${(error as Error).message}`,
      `e.g. ${flag} '{"beamWidth": 4}'`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidInputError(flag, "must be a JSON object", `e.g. ${flag} '{"beamWidth": 4}'`);
  return value as Record<string, unknown>;
}
