/**
 * One backend over several OpenAI-compatible upstreams serving the same model (vLLM or SGLang
 * replicas): least-outstanding balancing, affinity of requests with the same prompt to one
 * upstream (its prefix cache then serves every continuation of a tree search), failover to
 * another upstream, and a circuit breaker that ejects a failing upstream and lets one request
 * probe it back after a cool-down.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Backend, GenerateRequest, GenerateResponse } from "../core/backend.js";
import { AbortedError, BackendError, throwIfAborted } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import { sleep } from "./http-retry.js";
import { createOpenAIBackend, type OpenAIBackendOptions } from "./openai.js";

/** What happened to one upstream, for metrics and logs. */
export type PoolEvent =
  | { kind: "success"; upstream: string; latencyMs: number }
  | { kind: "failure"; upstream: string; status?: number; reason: string; retryable: boolean }
  | { kind: "retry"; from: string; attempt: number; reason: string }
  | { kind: "ejected"; upstream: string; forMs: number }
  | { kind: "restored"; upstream: string };

export const poolPolicySchema = z
  .object({
    /** Attempts per request across upstreams (the first included). */
    maxAttempts: z.number().int().positive().default(4),
    /** Consecutive failures (5xx, network errors, timeouts) that eject an upstream. */
    failureThreshold: z.number().int().positive().default(3),
    /** First ejection; each failed probe doubles it, up to `maxEjectMs`. */
    ejectMs: z.number().nonnegative().default(5_000),
    maxEjectMs: z.number().nonnegative().default(60_000),
    /**
     * How many more requests in flight than the least busy upstream the prompt's preferred
     * upstream may have before affinity gives way to balance.
     */
    affinitySlack: z.number().int().nonnegative().default(4),
    affinity: z.boolean().default(true),
    /** Wait between rounds once every upstream has failed a request (doubles per round). */
    roundDelayMs: z.number().nonnegative().default(100),
    /** Longest wait for a rate-limited (429) pool to free up before giving up. */
    maxWaitMs: z.number().nonnegative().default(30_000),
    onEvent: z.custom<(event: PoolEvent) => void>((value) => typeof value === "function").optional(),
  })
  .strict();

export type PoolPolicy = z.input<typeof poolPolicySchema>;

/** How one upstream is doing, for the dashboard and /metrics. */
export interface UpstreamStatus {
  id: string;
  outstanding: number;
  state: "healthy" | "ejected" | "probing";
  consecutiveFailures: number;
}

export interface PoolBackend extends Backend {
  upstreams(): UpstreamStatus[];
  close(): Promise<void>;
}

interface Member {
  id: string;
  backend: Backend;
  outstanding: number;
  failures: number;
  /** Ejected until this time; a probe may go through after it. */
  ejectedUntil: number;
  ejections: number;
  probing: boolean;
  /** Rate-limited (429) until this time: skipped without counting as a failure. */
  busyUntil: number;
}

/** A pool over backends that serve the same model; `createOpenAIPool` builds one from URLs. */
export function createPoolBackend(
  upstreams: readonly { id: string; backend: Backend }[],
  policyInput: PoolPolicy = {},
): PoolBackend {
  if (upstreams.length === 0) throw new BackendError("a pool needs at least one upstream");
  const policy = parseOrThrow(poolPolicySchema, policyInput, "pool policy");
  const emit = (event: PoolEvent) => policy.onEvent?.(event);
  const members: Member[] = upstreams.map(({ id, backend }) => ({
    id,
    backend,
    outstanding: 0,
    failures: 0,
    ejectedUntil: 0,
    ejections: 0,
    probing: false,
    busyUntil: 0,
  }));
  const ejected = (m: Member, now: number) => m.ejections > 0 && (now < m.ejectedUntil || m.probing);
  let turn = 0;

  /**
   * The member for this request among those not yet tried, or how long to wait for one
   * (-1: every upstream was tried, start a new round; Infinity: none left to wait for).
   * The request's prompt is read (for affinity) only when there is a choice to make.
   */
  function choose(
    request: GenerateRequest,
    tried: ReadonlySet<Member> | undefined,
  ): Member | { waitMs: number } {
    const now = Date.now();
    let open = 0;
    let only: Member | undefined;
    let fewest = Infinity;
    for (const m of members) {
      if (tried?.has(m) || ejected(m, now) || m.busyUntil > now) continue;
      open += 1;
      only = m;
      fewest = Math.min(fewest, m.outstanding);
    }
    if (open === 0) {
      let untried = 0;
      let soonest = Infinity;
      for (const m of members) {
        if (tried?.has(m)) continue;
        untried += 1;
        // Rate-limited upstreams free up soon; ejected ones are not waited for.
        if (!ejected(m, now)) soonest = Math.min(soonest, m.busyUntil - now);
      }
      return { waitMs: untried === 0 ? -1 : soonest };
    }
    if (open === 1) {
      // The one open upstream, as the rules below would choose it (and keeping the turn as they do).
      if (!policy.affinity) turn++;
      return only!;
    }
    const candidates = members.filter((m) => !tried?.has(m) && !ejected(m, now) && m.busyUntil <= now);
    if (policy.affinity) {
      const preferred = rendezvous(affinityKey(request), candidates);
      if (preferred.outstanding <= fewest + policy.affinitySlack) return preferred;
    }
    const least = candidates.filter((m) => m.outstanding === fewest);
    return least[turn++ % least.length]!;
  }

  function succeeded(member: Member, latencyMs: number): void {
    if (member.ejections > 0) emit({ kind: "restored", upstream: member.id });
    member.failures = 0;
    member.ejections = 0;
    member.probing = false;
    emit({ kind: "success", upstream: member.id, latencyMs });
  }

  function failed(member: Member, error: BackendError): void {
    const now = Date.now();
    if (error.status === 429) {
      // Rate limiting says "busy", not "broken": skip it for a while without ejecting it.
      member.busyUntil = now + (error.retryAfterMs ?? 1_000);
      member.probing = false;
      return;
    }
    member.failures += 1;
    if (member.probing || member.failures >= policy.failureThreshold) {
      const forMs = Math.min(policy.maxEjectMs, policy.ejectMs * 2 ** member.ejections);
      member.ejections += 1;
      member.ejectedUntil = now + forMs;
      member.probing = false;
      emit({ kind: "ejected", upstream: member.id, forMs });
    }
  }

  async function generate(request: GenerateRequest): Promise<GenerateResponse> {
    let tried: Set<Member> | undefined;
    let lastError: BackendError | undefined;
    let rounds = 0;
    let waitedMs = 0;
    // Once text or samples went to the caller, another upstream would repeat them: no failover.
    let relayed = false;
    const relays = request.onToken !== undefined || request.onSample !== undefined;
    const forwarded: GenerateRequest = !relays
      ? request
      : {
          ...request,
          ...(request.onToken
            ? {
                onToken: (event) => {
                  relayed = true;
                  request.onToken!(event);
                },
              }
            : {}),
          ...(request.onSample
            ? {
                onSample: (completion, index) => {
                  relayed = true;
                  request.onSample!(completion, index);
                },
              }
            : {}),
        };
    for (let attempt = 1; attempt <= policy.maxAttempts; ) {
      throwIfAborted(request.signal);
      const chosen = choose(request, tried);
      if (!("id" in chosen)) {
        if (chosen.waitMs < 0) {
          // Every upstream failed this request once: start a new round after a short pause.
          tried?.clear();
          await sleep(policy.roundDelayMs * 2 ** rounds++, request.signal);
          continue;
        }
        const waitMs = Math.max(1, chosen.waitMs);
        if (waitedMs + waitMs > policy.maxWaitMs) break;
        waitedMs += waitMs;
        await sleep(waitMs, request.signal);
        continue;
      }
      const member = chosen;
      const now = Date.now();
      if (member.ejections > 0 && now >= member.ejectedUntil) member.probing = true;
      member.outstanding += 1;
      const started = performance.now();
      try {
        const response = await member.backend.generate(forwarded);
        succeeded(member, performance.now() - started);
        return response;
      } catch (error) {
        if (error instanceof AbortedError || request.signal?.aborted) throw error;
        if (!(error instanceof BackendError)) throw error;
        const retry = isRetryable(error) && !relayed;
        emit({
          kind: "failure",
          upstream: member.id,
          status: error.status,
          reason: firstLine(error),
          retryable: retry,
        });
        if (!retry) {
          // The upstream answered and refused the request itself: another one would too.
          member.probing = false;
          throw error;
        }
        failed(member, error);
        lastError = error;
        tried ??= new Set();
        tried.add(member);
        if (attempt < policy.maxAttempts)
          emit({ kind: "retry", from: member.id, attempt, reason: firstLine(error) });
        attempt += 1;
      } finally {
        member.outstanding -= 1;
      }
    }
    const ejectedNow = members.filter((m) => ejected(m, Date.now())).length;
    throw new BackendError(
      lastError
        ? `every upstream failed: ${firstLine(lastError)}`
        : `no upstream available (${ejectedNow} of ${members.length} ejected)`,
      lastError?.status ?? 503,
      "check the upstream servers; `GET /metrics` shows which ones fail",
      lastError?.retryAfterMs,
      lastError?.code ?? "unreachable",
    );
  }

  const first = upstreams[0]!.backend;
  return {
    id: `pool:${first.id}×${upstreams.length}`,
    capabilities: first.capabilities,
    parameterCount: first.parameterCount,
    generate,
    upstreams: () => {
      const now = Date.now();
      return members.map((m) => ({
        id: m.id,
        outstanding: m.outstanding,
        state: m.probing ? "probing" : ejected(m, now) ? "ejected" : "healthy",
        consecutiveFailures: m.failures,
      }));
    },
    async close() {
      await Promise.all(members.map((m) => m.backend.close?.()));
    },
  };
}

export type OpenAIPoolOptions = Omit<OpenAIBackendOptions, "baseURL" | "apiKey" | "maxRetries"> & {
  upstreams: readonly (string | { baseURL: string; apiKey?: string })[];
  apiKey?: string;
  policy?: PoolPolicy;
};

/**
 * A pool over OpenAI-compatible servers. Each upstream tries once per attempt (no retries of
 * its own): the pool retries on another upstream instead of waiting on a failing one.
 */
export function createOpenAIPool(options: OpenAIPoolOptions): PoolBackend {
  const { upstreams, apiKey, policy, ...shared } = options;
  return createPoolBackend(
    upstreams.map((upstream) => {
      const { baseURL, apiKey: ownKey } = typeof upstream === "string" ? { baseURL: upstream } : upstream;
      return {
        id: baseURL,
        backend: createOpenAIBackend({ ...shared, baseURL, apiKey: ownKey ?? apiKey, maxRetries: 0 }),
      };
    }),
    policy,
  );
}

/** Worth trying elsewhere: network errors, timeouts, 408, 429, 5xx and garbled 200s. */
export function isRetryable(error: BackendError): boolean {
  const { status } = error;
  return status === undefined || status === 408 || status === 429 || status >= 500 || status < 300;
}

/** The prompt a request continues from: requests sharing it share a KV prefix upstream. */
function affinityKey(request: GenerateRequest): string {
  return typeof request.prompt === "string" ? request.prompt : JSON.stringify(request.prompt);
}

/** Rendezvous hashing: stable preference per key, and only the keys of a lost member move. */
function rendezvous(key: string, candidates: readonly Member[]): Member {
  let best = candidates[0]!;
  let bestWeight = -1;
  for (const member of candidates) {
    const weight = createHash("sha1").update(member.id).update("\0").update(key).digest().readUInt32BE(0);
    if (weight > bestWeight) {
      best = member;
      bestWeight = weight;
    }
  }
  return best;
}

function firstLine(error: Error): string {
  return error.message.split("\n")[0]!;
}
