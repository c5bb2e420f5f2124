/**
 * The access log of `reckon serve` (opt-in: `--access-log FILE`, `-` for stderr): one JSON line
 * per request, written when its response has ended (a stream when it closes, a client's
 * disconnect included). A line names the API key by its name, never the key, and carries no
 * header value; the prompt and the answer only with `accessLogContent`. Logging never fails a
 * request: a line that cannot be written is lost, and said once on stderr.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import type { ChatMessage, Usage } from "../core/types.js";
import { ApiKeyAuth } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { toHttpError } from "./errors.js";
import { type Redact, truncate } from "./redact.js";

/** How a completion request ended, as only its route knows it. */
export interface CompletionFacts {
  /** The response's id (`chatcmpl-…`). */
  id: string;
  model: string;
  strategy: string;
  stream: boolean;
  /** The request's outcome: a stream's error status, 499 for a client that left. */
  status: number;
  /** What the strategy spent, so far when it failed or was cancelled. */
  usage?: Usage;
  /** The error's code or type, when it failed. */
  error?: string;
  prompt: string | ChatMessage[];
  /** The text sent as the answer. */
  answer?: string;
}

declare module "hono" {
  interface ContextVariableMap {
    /** Set by a completion route where it records the request's usage (`recordCompletion`). */
    completion: CompletionFacts;
    /** Set by the access log: told when `completion` is set (a stream's line waits for it). */
    completionListener: (() => void) | undefined;
  }
}

/** Records in the request's context how its completion ended: called once, where usage is recorded. */
export function recordCompletion(c: Context, facts: CompletionFacts): void {
  c.set("completion", facts);
  c.get("completionListener")?.();
}

export interface AccessLogLine {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** The API key's name; "anonymous" without auth; null when no configured key was offered. */
  key: string | null;
  method: string;
  /** The route that answered (`/v1/chat/completions`); null when none did (404). */
  route: string | null;
  path: string;
  status: number;
  model: string | null;
  strategy: string | null;
  stream: boolean;
  /** Prompt tokens as `usage.prompt_tokens` counts them (cached ones included). */
  tokensIn: number | null;
  tokensOut: number | null;
  verifierTokens: number | null;
  /** Model calls (an upstream request each, or a call of the embedded model). */
  upstreamCalls: number | null;
  /** From arrival to the end of the response (a stream's last byte). */
  latencyMs: number;
  client: string | null;
  /** The response's id, for completions. */
  requestId: string | null;
  /** The client's own `X-Request-Id`, when it sent one. */
  clientRequestId?: string;
  /** The error's code or type, for a failed request. */
  error?: string;
  prompt?: string | ChatMessage[];
  answer?: string | null;
}

const textLimit = 200;

/** The middleware (one per server): `config.accessLog` is a file, or `-` for stderr. */
export function accessLog(config: ServerConfig, redact: Redact): MiddlewareHandler {
  const write = lineWriter(config.accessLog ?? "-");
  const auth = new ApiKeyAuth(config.apiKeys);
  // Named as the route that answered identifies its caller: Anthropic's (`/v1/messages`) take
  // `x-api-key` too. (Not imported from messages-api.ts: the route's pipeline imports this module.)
  const keyName = (c: Context): string | null => {
    try {
      const authorization = c.req.header("authorization");
      return /^\/v1\/messages(\/|$)/.test(c.req.path)
        ? auth.identifyWithApiKeyHeader(authorization, c.req.header("x-api-key")).name
        : auth.identify(authorization).name;
    } catch {
      return null;
    }
  };
  const shown = (text: string) => truncate(redact(truncate(text, textLimit * 4)), textLimit);
  return async (c, next) => {
    const time = new Date().toISOString();
    const started = performance.now();
    let completed: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      completed = resolve;
    });
    c.set("completionListener", () => completed());
    await next();
    const log = () => {
      try {
        const facts = c.get("completion");
        const usage = facts?.usage;
        const routePath = c.req.routePath;
        const line: AccessLogLine = {
          time,
          key: keyName(c),
          method: c.req.method,
          route: routePath === "/*" ? null : routePath,
          path: shown(c.req.path),
          status: facts?.status ?? c.res.status,
          model: facts ? shown(facts.model) : null,
          strategy: facts ? shown(facts.strategy) : null,
          stream: facts?.stream ?? isStream(c),
          tokensIn: usage ? usage.promptTokens + (usage.cachedPromptTokens ?? 0) : null,
          tokensOut: usage ? usage.completionTokens : null,
          verifierTokens: usage ? (usage.verifierTokens ?? 0) : null,
          upstreamCalls: usage ? usage.calls : null,
          latencyMs: Math.round((performance.now() - started) * 10) / 10,
          client: clientAddress(c),
          requestId: facts?.id ?? null,
        };
        const clientRequestId = c.req.header("x-request-id");
        if (clientRequestId !== undefined) line.clientRequestId = shown(clientRequestId);
        const error = facts ? facts.error : errorName(c.error);
        if (error !== undefined) line.error = error;
        if (config.accessLogContent && facts) {
          line.prompt =
            typeof facts.prompt === "string"
              ? redact(facts.prompt)
              : facts.prompt.map((m) => ({ ...m, content: redact(m.content) }));
          line.answer = facts.answer === undefined ? null : redact(facts.answer);
        }
        write(`${JSON.stringify(line)}\n`);
      } catch (error) {
        write.failed(error as Error);
      }
    };
    // A stream's route says when it has ended; everything else has ended here.
    if (isStream(c) && c.get("completion") === undefined) void ended.then(log);
    else log();
  };
}

const isStream = (c: Context) => c.get("eventStream") === true;

function clientAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    // Not served by node (app.fetch in a test): no socket.
    return null;
  }
}

function errorName(error: Error | undefined): string | undefined {
  if (error === undefined) return undefined;
  const shown = toHttpError(error);
  return shown.code ?? shown.type;
}

type LineWriter = ((line: string) => void) & { failed(error: Error): void };

/**
 * Appends lines to a file (created with mode 0600) or stderr. A failed write is said once on
 * stderr; the next line opens the file again, so a log that comes back is written again.
 */
function lineWriter(target: string): LineWriter {
  let warned = false;
  const failed = (error: Error) => {
    if (warned) return;
    warned = true;
    process.stderr.write(
      `reckon: cannot write the access log ${target}: ${error.message}; requests go on, their lines are lost\n`,
    );
  };
  if (target === "-") return Object.assign((line: string) => void process.stderr.write(line), { failed });
  let stream: WriteStream | undefined;
  const write = (line: string) => {
    if (stream === undefined) {
      const opened = createWriteStream(target, { flags: "a", mode: 0o600 });
      opened.on("error", (error) => {
        if (stream === opened) stream = undefined;
        opened.destroy();
        failed(error);
      });
      stream = opened;
    }
    stream.write(line);
  };
  return Object.assign(write, { failed });
}
