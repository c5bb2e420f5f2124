/**
 * The reckon server: an OpenAI-compatible API that answers with a test-time strategy, plus
 * /healthz, /metrics and the /ui dashboard. `createReckonServer` builds it without binding a
 * port (tests call `app.fetch` or `listen` on port 0); shutdown drains requests in flight.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ReckonError } from "../core/errors.js";
import type { RunStore } from "../store/sqlite.js";
import { accessLog } from "./access-log.js";
import { AdminAuth, ApiKeyAuth } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { HttpError, toHttpError } from "./errors.js";
import { KeyLimiter } from "./limits.js";
import { LiveRequests } from "./live.js";
import { anthropicErrorBody, isMessagesPath, messagesRoutes } from "./messages-api.js";
import { ServerMetrics } from "./metrics.js";
import { embeddedModel, type ModelSource, upstreamModels } from "./models.js";
import { openAIRoutes } from "./openai-routes.js";
import { createRedactor, type Redact, truncate } from "./redact.js";
import { responsesRoutes } from "./responses-api.js";
import { checkServerConfig } from "./startup.js";
import { dashboardRoutes } from "./ui/routes.js";
import { ServerVerifiers } from "./verifiers.js";

export interface ReckonServerParts {
  /** Where models come from; default: pools over `config.upstreams`, else the embedded model. */
  source?: ModelSource;
  /** Bench runs shown at /ui (e.g. `openStore(path, {create: false})`). */
  runs?: RunStore;
}

export interface ReckonServer {
  app: Hono;
  metrics: ServerMetrics;
  /**
   * Checks the configuration (a default strategy, task or verifier that cannot work is
   * refused), binds `config.host:config.port` (0: any free port) and resolves to the base URL.
   */
  listen(): Promise<string>;
  /** Stops accepting, waits up to `config.drainMs` for requests in flight, cancels the rest. */
  close(): Promise<void>;
}

export function createReckonServer(config: ServerConfig, parts: ReckonServerParts = {}): ReckonServer {
  let source: ModelSource;
  const redact = serverRedactor(config);
  const upstreamStatus = () => (source.upstreams?.() ?? []).map((u) => ({ ...u, id: redact(u.id) }));
  /** The cancel function of every request in flight (a request counts while it is here). */
  const running = new Set<() => void>();
  const metrics = new ServerMetrics(
    () => source.upstreams?.() ?? [],
    redact,
    () => running.size,
  );
  source =
    parts.source ??
    (config.upstreams.length > 0 ? upstreamModels(config, metrics.poolEvent) : embeddedModel(config.model));
  const live = new LiveRequests(config.recentRequests, config.limits.maxRecordedChars, remembered(redact));
  const verifiers = new ServerVerifiers(config);
  const admin = new AdminAuth(config.adminKeys, config.apiKeys);
  /** Every error a client is sent goes through here: redacted, and logged when it is the server's. */
  const presented = new WeakSet<HttpError>();
  const present = (error: unknown, paramOf?: (field: string) => string): HttpError => {
    if (error instanceof HttpError && presented.has(error)) return error;
    const failure = toHttpError(error, paramOf);
    if (failure.status >= 500 && failure.status !== 504) {
      const logged =
        failure.detail ?? (failure.type === "server_error" ? (error as Error)?.stack : undefined);
      // One bounded line: what an upstream said may be long, or repeat a client's input.
      if (logged) console.error(`reckon: ${redact(truncate(String(logged), 2_000))}`);
    }
    const message = redact(failure.message);
    const shown =
      message === failure.message
        ? failure
        : new HttpError(failure.status, message, failure.type, failure.param, failure.code, failure.headers);
    shown.detail = failure.detail;
    presented.add(shown);
    return shown;
  };
  const shutdown = new AbortController();
  let drained: (() => void) | undefined;
  const track = (cancel: () => void) => {
    running.add(cancel);
    if (shutdown.signal.aborted) cancel();
    return () => {
      if (running.delete(cancel) && running.size === 0) drained?.();
    };
  };

  const app = new Hono();
  if (config.accessLog) app.use(accessLog(config, redact));
  // Not an async function: each request would hold one more frame while it is answered.
  app.use("*", (c, next) => {
    const started = performance.now();
    return next().then(() => {
      // Streams count when they end (pipeline.ts); everything else here. (Reading the
      // response's headers would build a full Headers object for every response.)
      if (c.get("eventStream")) return;
      metrics.request(
        c.req.routePath === "/*" ? "other" : c.req.routePath,
        c.res.status,
        (performance.now() - started) / 1000,
      );
    });
  });
  const guardAdmin: MiddlewareHandler = async (c, next) => {
    admin.check(c.req.header("authorization"));
    await next();
  };
  app.use("/metrics", guardAdmin);
  app.use("/ui", guardAdmin);
  app.use("/ui/*", guardAdmin);
  const notJson = (c: Context) =>
    new HttpError(
      415,
      `the request body must be JSON (Content-Type: application/json), not ${c.req.header("content-type") ?? "unspecified"}`,
      "invalid_request_error",
      null,
      "unsupported_media_type",
    );
  const overLimit = () =>
    new HttpError(
      413,
      `the request body is larger than this server's limit of ${config.limits.maxBodyBytes} bytes`,
      "invalid_request_error",
      null,
      "request_too_large",
    );
  const streamedBodyLimit = bodyLimit({
    maxSize: config.limits.maxBodyBytes,
    onError: () => {
      throw overLimit();
    },
  });
  // One middleware for every body the API takes (each layer costs every request a little),
  // and not an async one: it passes on `next()`'s promise instead of waiting for it.
  app.use("/v1/*", (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    // JSON only: a form or text body is a client's mistake, and a browser's cross-site form post.
    if (
      c.req.method === "POST" &&
      jsonRoutes.has(c.req.path) &&
      !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(c.req.header("content-type") ?? "")
    )
      throw notJson(c);
    // A declared length is checked from the header alone: hono's bodyLimit would first turn the
    // request into a full web Request (a stream and a copy per request, most of a fast
    // proxy's time). Bodies without a length are counted as they are read.
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined)
      return streamedBodyLimit(c, next);
    if (Number(length) > config.limits.maxBodyBytes) throw overLimit();
    return next();
  });
  const routeDeps = {
    config,
    source,
    auth: new ApiKeyAuth(config.apiKeys),
    limiter: new KeyLimiter(config.limits.maxConcurrentRequests),
    metrics,
    live,
    verifiers,
    present,
    shutdown: shutdown.signal,
    track,
  };
  openAIRoutes(app, routeDeps);
  responsesRoutes(app, routeDeps);
  messagesRoutes(app, routeDeps);
  // Liveness: the process answers. Readiness: it can serve (not draining, an upstream answers).
  app.get("/healthz", (c) =>
    c.json(
      { status: shutdown.signal.aborted || closing ? "draining" : "ok", inFlight: running.size },
      closing ? 503 : 200,
    ),
  );
  app.get("/readyz", async (c) => {
    const inFlight = running.size;
    if (closing) return c.json({ status: "draining", inFlight }, 503);
    const state = (await source.ready?.(c.req.raw.signal)) ?? { ready: true };
    return state.ready
      ? c.json({ status: "ready", inFlight }, 200)
      : c.json({ status: "unavailable", reason: state.reason, inFlight }, 503);
  });
  app.get("/metrics", async (c) =>
    c.body(await metrics.text(), 200, { "content-type": metrics.contentType }),
  );
  dashboardRoutes(app, {
    runs: parts.runs,
    live: () => live.recent(),
    upstreams: upstreamStatus,
  });
  // A known path asked with another method: 405 with the methods it takes.
  for (const [path, allow] of Object.entries(routeMethods))
    app.all(path, (c) => {
      throw new HttpError(
        405,
        `${c.req.method} is not allowed on ${path}; use ${allow}`,
        "invalid_request_error",
        null,
        "method_not_allowed",
        { allow },
      );
    });
  app.notFound((c) =>
    c.json(
      new HttpError(
        404,
        `no route ${c.req.method} ${c.req.path.slice(0, 200)}`,
        "invalid_request_error",
      ).body(),
      404,
    ),
  );
  app.onError((error, c) => {
    const failure = present(error);
    // Anthropic's clients read errors in Anthropic's shape; every other route answers OpenAI's.
    const body = isMessagesPath(c.req.path) ? anthropicErrorBody(failure) : failure.body();
    return c.json(body, failure.status as ContentfulStatusCode, failure.headers);
  });

  let server: ReturnType<typeof serve> | undefined;
  let closing = false;
  return {
    app,
    metrics,
    async listen() {
      await checkServerConfig(config, source.defaultTask, verifiers);
      return new Promise((resolve, reject) => {
        server = serve(
          { fetch: app.fetch, port: config.port, hostname: config.host },
          (info: AddressInfo) => {
            const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
            resolve(`http://${host}:${info.port}`);
          },
        );
        server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, config)));
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      const stopped = server
        ? new Promise<void>((resolve) => server!.close(() => resolve()))
        : Promise.resolve();
      // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
      (server as { closeIdleConnections?: () => void } | undefined)?.closeIdleConnections?.();
      const stopDraining = () => {
        shutdown.abort();
        for (const cancel of running) cancel();
      };
      if (running.size > 0) {
        const waited = new Promise<void>((resolve) => {
          drained = resolve;
        });
        const timer = setTimeout(stopDraining, config.drainMs);
        await waited;
        clearTimeout(timer);
      }
      stopDraining();
      // The last responses are still being written: give their sockets a moment to finish.
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
      await stopped;
      await source.close();
    },
  };
}

/** The routes whose POST body must be JSON. */
const jsonRoutes = new Set(["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages"]);

/** The methods each fixed route takes (answers to others are 405). */
const routeMethods: Record<string, string> = {
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
  "/v1/responses": "POST",
  "/v1/messages": "POST",
  "/v1/models": "GET",
  "/healthz": "GET",
  "/readyz": "GET",
  "/metrics": "GET",
  "/ui": "GET",
};

/** Redacts every secret of this configuration (and URL passwords) from what the server shows. */
function serverRedactor(config: ServerConfig): Redact {
  return createRedactor([
    config.upstreamApiKey,
    process.env.OPENAI_API_KEY,
    ...config.apiKeys.map((k) => k.key),
    ...config.adminKeys,
  ]);
}

/**
 * A redactor that remembers its answers for short texts: the live view redacts the same model
 * and key names for every request, and a redaction runs several regular expressions.
 */
function remembered(redact: Redact, size = 256): Redact {
  const shown = new Map<string, string>();
  return (text) => {
    const known = shown.get(text);
    if (known !== undefined) return known;
    const redacted = redact(text);
    if (text.length <= 200) {
      if (shown.size >= size) shown.clear();
      shown.set(text, redacted);
    }
    return redacted;
  };
}

/** Why the port could not be bound, in one line with what to do. */
function listenError(error: NodeJS.ErrnoException, config: ServerConfig): Error {
  const where = `${config.host}:${config.port}`;
  if (error.code === "EADDRINUSE")
    return new ReckonError(
      `cannot listen on ${where}: the port is in use`,
      "stop what uses it, or pass --port PORT",
    );
  if (error.code === "EACCES")
    return new ReckonError(
      `cannot listen on ${where}: permission denied`,
      "ports below 1024 need privileges; pass --port 8080",
    );
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND")
    return new ReckonError(
      `cannot listen on ${where}: no such address here`,
      "pass --host 127.0.0.1 or 0.0.0.0",
    );
  return new ReckonError(`cannot listen on ${where}: ${error.message}`);
}
