/**
 * Where the served models come from: a pool over upstream servers (one pool per model and
 * endpoint, created on first use), or one GGUF model embedded in the process.
 */
import { basename } from "node:path";
import { createOpenAIPool, type PoolBackend, type PoolEvent, type UpstreamStatus } from "../backends/pool.js";
import type { Backend } from "../core/backend.js";
import type { ServerConfig } from "./config.js";
import { HttpError } from "./errors.js";

export type Endpoint = "chat" | "completion";

export interface ModelSource {
  /** The models clients may name (without strategy prefixes). */
  list(signal?: AbortSignal): Promise<string[]>;
  backendFor(model: string, endpoint: Endpoint): Promise<Backend>;
  /** The task that reads answers when neither request nor config names one. */
  readonly defaultTask: string;
  upstreams?(): UpstreamStatus[];
  /** Whether requests can be answered now (an upstream answers); for /readyz. */
  ready?(signal?: AbortSignal): Promise<{ ready: boolean; reason?: string }>;
  close(): Promise<void>;
}

/** Pools kept at once (one per model and endpoint); the least recently used are forgotten. */
const maxPools = 32;

const modelNotFound = (model: string) =>
  new HttpError(
    404,
    `The model \`${model.length > 100 ? `${model.slice(0, 100)}…` : model}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    "model",
    "model_not_found",
  );

/** Pools over `config.upstreams`; model names are the upstreams' own. */
export function upstreamModels(config: ServerConfig, onEvent?: (event: PoolEvent) => void): ModelSource {
  const pools = new Map<string, PoolBackend>();
  let listed: { at: number; models: string[] } | undefined;
  let refreshing: Promise<string[]> | undefined;
  const cached = (): Promise<string[]> => {
    if (listed && Date.now() - listed.at < 30_000) return Promise.resolve(listed.models);
    // Requests arriving together share one listing.
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  async function refresh(signal?: AbortSignal): Promise<string[]> {
    const models = new Set<string>();
    let lastError: unknown;
    for (const url of config.upstreams) {
      try {
        const response = await fetch(`${url.replace(/\/+$/, "")}/models`, {
          headers: config.upstreamApiKey ? { authorization: `Bearer ${config.upstreamApiKey}` } : {},
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(5_000)]) : AbortSignal.timeout(5_000),
        });
        const body = (await response.json()) as { data?: { id?: unknown }[] };
        for (const entry of body.data ?? []) if (typeof entry.id === "string") models.add(entry.id);
        if (response.ok) break;
      } catch (error) {
        lastError = error;
      }
    }
    if (models.size === 0 && lastError)
      throw new HttpError(
        502,
        "no upstream answered GET /models",
        "upstream_error",
        null,
        "upstream_unavailable",
      );
    listed = { at: Date.now(), models: [...models] };
    return listed.models;
  }

  /**
   * Forgets the least recently used pools beyond `maxPools`. They are not closed: a request
   * may still hold one between two calls; it is freed with the last request that uses it.
   */
  function forgetOldPools(): void {
    for (const key of pools.keys()) {
      if (pools.size <= maxPools) return;
      pools.delete(key);
    }
  }

  return {
    defaultTask: "math",
    list: cached,
    async ready(signal) {
      try {
        await refresh(signal);
        return { ready: true };
      } catch {
        return { ready: false, reason: "no upstream answered GET /models" };
      }
    },
    async backendFor(model, endpoint) {
      const key = `${endpoint}\0${model}`;
      let pool = pools.get(key);
      if (pool) {
        // Most recently used last: eviction takes from the front.
        pools.delete(key);
        pools.set(key, pool);
        return pool;
      }
      // Names come from clients: the pools kept are bounded (the least recently used are
      // forgotten), and an unknown name costs one upstream 404, not a pool kept forever.
      pool = createOpenAIPool({
        upstreams: config.upstreams,
        apiKey: config.upstreamApiKey,
        model,
        mode: endpoint,
        concurrency: config.upstreamConcurrency,
        timeoutMs: config.upstreamTimeoutMs,
        policy: { ...config.pool, onEvent },
      });
      pools.set(key, pool);
      forgetOldPools();
      return pool;
    },
    upstreams() {
      // One pool per model shares the upstreams: report each upstream once, summed.
      const byId = new Map<string, UpstreamStatus>();
      for (const pool of pools.values())
        for (const u of pool.upstreams()) {
          const seen = byId.get(u.id);
          if (!seen) byId.set(u.id, { ...u });
          else {
            seen.outstanding += u.outstanding;
            if (u.state !== "healthy") seen.state = u.state;
            seen.consecutiveFailures = Math.max(seen.consecutiveFailures, u.consecutiveFailures);
          }
        }
      return [...byId.values()];
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

/** One GGUF model in-process (the bundled one by default), loaded on the first request. */
export function embeddedModel(modelPath?: string): ModelSource {
  let loading: Promise<Backend> | undefined;
  const name = modelPath ? basename(modelPath).replace(/\.gguf$/i, "") : "reckon-tiny";
  return {
    defaultTask: modelPath ? "math" : "arithmetic",
    list: async () => [name],
    backendFor(model) {
      if (model !== name) return Promise.reject(modelNotFound(model));
      loading ??= import("../backends/embedded.js").then((engine) =>
        modelPath
          ? engine.createLlamaCppBackend({ modelPath, mode: "completion" })
          : engine.createDefaultBackend(),
      );
      return loading;
    },
    async close() {
      const backend = loading && (await loading.catch(() => undefined));
      await backend?.close?.();
    },
  };
}

/** An existing backend served under one name (tests, embedding in an app). */
export function singleBackend(name: string, backend: Backend, defaultTask = "math"): ModelSource {
  return {
    defaultTask,
    list: async () => [name],
    backendFor: (model) => (model === name ? Promise.resolve(backend) : Promise.reject(modelNotFound(model))),
    async close() {},
  };
}
