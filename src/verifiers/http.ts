/**
 * JSON over HTTP for verifiers served by another process (reward models, process reward
 * models): POST with a timeout and a few retries on network errors and 429/5xx, and the
 * answer parsed with a zod schema, so a server that answers garbage fails with an error that
 * names the server and the field.
 */
import { z } from "zod";
import { AbortedError, BackendError, InvalidInputError } from "../core/errors.js";
import { formatIssuePath } from "../core/validate.js";

export const httpEndpointFields = {
  url: z.url({ protocol: /^https?$/ }).describe("the server's URL"),
  apiKey: z.string().min(1).optional().describe("sent as a Bearer token"),
  timeoutMs: z.number().int().positive().default(60_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
};
const endpointSchema = z.object(httpEndpointFields);
export type HttpEndpoint = z.output<typeof endpointSchema>;

/** Joins a base URL and a path without doubling or losing the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

const snippet = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new AbortedError());
      },
      { once: true },
    );
  });
}

/** POSTs `body` to `url` and returns the answer parsed by `schema`; `what` names the server in errors. */
export async function postJson<Schema extends z.ZodType>(
  endpoint: HttpEndpoint,
  url: string,
  body: unknown,
  schema: Schema,
  what: string,
  signal?: AbortSignal,
): Promise<{ data: z.output<Schema>; latencyMs: number }> {
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new AbortedError();
    const timeout = AbortSignal.timeout(endpoint.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal: combined,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw new AbortedError();
      const reason = timeout.aborted
        ? `no answer within ${endpoint.timeoutMs} ms`
        : error instanceof Error
          ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ""}`
          : String(error);
      if (attempt < endpoint.maxRetries) {
        await wait(200 * 2 ** attempt, signal);
        continue;
      }
      throw new BackendError(
        `${what} at ${url} could not be reached: ${reason}`,
        undefined,
        "check the URL and that the server is running",
      );
    }
    if (status === 429 || status >= 500) {
      if (attempt < endpoint.maxRetries) {
        await wait(200 * 2 ** attempt, signal);
        continue;
      }
    }
    if (status < 200 || status >= 300)
      throw new BackendError(`${what} at ${url} answered HTTP ${status}: ${snippet(text)}`, status);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new BackendError(
        `${what} at ${url} did not answer JSON: ${snippet(text)}`,
        status,
        "is the URL the model server's API, not a web page or another service?",
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = formatIssuePath(issue.path) || "(the body)";
      throw new BackendError(
        `${what} at ${url} answered an unexpected shape: ${path}: ${issue.message} (got ${snippet(text)})`,
        status,
        "check the verifier's protocol option against what the server speaks",
      );
    }
    return { data: parsed.data, latencyMs: performance.now() - started };
  }
}

/** Verifier options from code or a spec string, with errors naming the verifier's field. */
export function parseVerifierOptions<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  verifier: string,
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InvalidInputError(`${verifier}.${formatIssuePath(issue.path)}`, issue.message);
}

/** Rough token count for servers that report none: about four characters a token. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
