/**
 * The reckon server: an OpenAI-compatible API that answers with a test-time strategy, plus
 * /healthz, /metrics and the /ui dashboard. `createReckonServer` builds it without binding a
 * port (tests call `app.fetch` or `listen` on port 0); shutdown drains requests in flight.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RunStore } from "../store/sqlite.js";
import { ApiKeyAuth } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { HttpError, toHttpError } from "./errors.js";
import { KeyLimiter } from "./limits.js";
import { LiveRequests } from "./live.js";
import { ServerMetrics } from "./metrics.js";
import { embeddedModel, type ModelSource, upstreamModels } from "./models.js";
import { openAIRoutes } from "./openai-routes.js";
import { dashboardRoutes } from "./ui/routes.js";

export interface ReckonServerParts {
  /** Where models come from; default: pools over `config.upstreams`, else the embedded model. */
  source?: ModelSource;
  /** Bench runs shown at /ui (e.g. `openStore(path, {create: false})`). */
  runs?: RunStore;
}

export interface ReckonServer {
  app: Hono;
  metrics: ServerMetrics;
  /** Binds `config.host:config.port` (0: any free port) and resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, waits up to `config.drainMs` for requests in flight, cancels the rest. */
  close(): Promise<void>;
}

export function createReckonServer(config: ServerConfig, parts: ReckonServerParts = {}): ReckonServer {
  let source: ModelSource;
  const metrics = new ServerMetrics(() => source.upstreams?.() ?? []);
  source =
    parts.source ??
    (config.upstreams.length > 0 ? upstreamModels(config, metrics.poolEvent) : embeddedModel(config.model));
  const live = new LiveRequests(config.recentRequests);
  const shutdown = new AbortController();
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const track = () => {
    inFlight += 1;
    metrics.inFlight.inc();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      inFlight -= 1;
      metrics.inFlight.dec();
      if (inFlight === 0) drained?.();
    };
  };

  const app = new Hono();
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    // Streams count when they end (openai-routes); everything else here.
    if (c.res.headers.get("content-type")?.startsWith("text/event-stream")) return;
    metrics.request(
      c.req.routePath === "/*" ? "other" : c.req.routePath,
      c.res.status,
      (performance.now() - started) / 1000,
    );
  });
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: config.limits.maxBodyBytes,
      onError: () => {
        throw new HttpError(
          413,
          `the request body is larger than this server's limit of ${config.limits.maxBodyBytes} bytes`,
          "invalid_request_error",
          null,
          "request_too_large",
        );
      },
    }),
  );
  openAIRoutes(app, {
    config,
    source,
    auth: new ApiKeyAuth(config.apiKeys),
    limiter: new KeyLimiter(config.limits.maxConcurrentRequests),
    metrics,
    live,
    shutdown: shutdown.signal,
    track,
  });
  app.get("/healthz", (c) =>
    c.json({ status: shutdown.signal.aborted || closing ? "draining" : "ok", inFlight }, closing ? 503 : 200),
  );
  app.get("/metrics", async (c) =>
    c.body(await metrics.text(), 200, { "content-type": metrics.contentType }),
  );
  dashboardRoutes(app, {
    runs: parts.runs,
    live: () => live.recent(),
    upstreams: () => source.upstreams?.() ?? [],
  });
  app.notFound((c) =>
    c.json(new HttpError(404, `no route ${c.req.method} ${c.req.path}`, "invalid_request_error").body(), 404),
  );
  app.onError((error, c) => {
    const failure = toHttpError(error);
    if (failure.status >= 500 && failure.type === "server_error") console.error(error);
    return c.json(failure.body(), failure.status as ContentfulStatusCode, failure.headers);
  });

  let server: ReturnType<typeof serve> | undefined;
  let closing = false;
  return {
    app,
    metrics,
    listen: () =>
      new Promise((resolve, reject) => {
        server = serve(
          { fetch: app.fetch, port: config.port, hostname: config.host },
          (info: AddressInfo) => {
            const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
            resolve(`http://${host}:${info.port}`);
          },
        );
        server.once("error", reject);
      }),
    async close() {
      if (closing) return;
      closing = true;
      const stopped = server
        ? new Promise<void>((resolve) => server!.close(() => resolve()))
        : Promise.resolve();
      // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
      (server as { closeIdleConnections?: () => void } | undefined)?.closeIdleConnections?.();
      if (inFlight > 0) {
        const waited = new Promise<void>((resolve) => {
          drained = resolve;
        });
        const timer = setTimeout(() => shutdown.abort(), config.drainMs);
        await waited;
        clearTimeout(timer);
      }
      shutdown.abort();
      // The last responses are still being written: give their sockets a moment to finish.
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
      await stopped;
      await source.close();
    },
  };
}
