import { StringDecoder } from "node:string_decoder";
import { Agent, type Dispatcher } from "undici";
import { AbortedError, BackendError, type BackendErrorCode } from "../core/errors.js";
import {
  isNetworkError,
  networkCode,
  parseRetryAfter,
  type RetryPolicy,
  retryDelayMs,
  sleep,
} from "./http-retry.js";
import type { Semaphore } from "./semaphore.js";

/** What a retry looked like, for logs and traces. */
export interface RetryEvent {
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  /** HTTP status when the server answered, undefined for network errors and timeouts. */
  status?: number;
  reason: string;
}

export interface OpenAIHttpClient {
  baseURL: string;
  model: string;
  apiKey?: string;
  headers: Record<string, string>;
  /** Per attempt, counted from when the request leaves the queue. */
  timeoutMs: number;
  retry: RetryPolicy;
  semaphore: Semaphore;
  onRetry?: (event: RetryEvent) => void;
  /** The backend's close(): ends waits and cuts off every attempt in flight. */
  closing?: Closing;
}

/**
 * What closing a backend stops. Attempts register here instead of each joining the caller's
 * signal with a closing signal (AbortSignal.any, and a signal per attempt, cost more than the
 * rest of a request to a fast server); only waits (for a slot, before a retry) listen to it.
 */
export class Closing {
  private readonly controller = new AbortController();
  private readonly attempts = new Set<() => void>();

  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Aborted on close. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Calls `cut` on close, until the returned function is called. */
  hold(cut: () => void): () => void {
    this.attempts.add(cut);
    return () => this.attempts.delete(cut);
  }

  close(): void {
    this.controller.abort();
    for (const cut of this.attempts) cut();
  }
}

/**
 * What cuts one attempt off, in the shape undici takes as a request's signal (an event target
 * with `aborted`), and its timeout. Not an AbortSignal: creating one, and an event target's
 * listeners, cost more than the rest of an attempt on a fast upstream.
 */
class AttemptCut {
  aborted = false;
  timedOut = false;
  private listeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  addEventListener(_type: "abort", listener: () => void): void {
    this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }

  readonly cut = (): void => {
    if (this.aborted) return;
    this.aborted = true;
    for (const listener of this.listeners.splice(0)) listener();
  };

  /** (Re)starts the timeout: the attempt is cut after `timeoutMs` without a call to this. */
  arm(): void {
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(timeOut, this.timeoutMs, this);
  }

  disarm(): void {
    clearTimeout(this.timer);
  }
}

function timeOut(attempt: AttemptCut): void {
  attempt.timedOut = true;
  attempt.cut();
}

/** The caller's signal joined with closing, for the rare waits that need both. */
function waitSignal(client: OpenAIHttpClient, signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!client.closing) return signal;
  return signal ? AbortSignal.any([signal, client.closing.signal]) : client.closing.signal;
}

/** One failed attempt: whether to try again, and the error to throw if not. */
interface Failure {
  retryable: boolean;
  error: BackendError;
  status?: number;
  retryAfterMs?: number;
}

/** A server's answer: parsed JSON, or an event stream handed to its consumer. */
type Answer = { json: unknown } | { streamed: true };

/**
 * POSTs `body` (JSON text) to `baseURL + path` and returns the parsed JSON answer, retrying
 * 408, 429, 5xx, network errors, timeouts and truncated JSON with backoff (honouring
 * Retry-After). Anything else becomes a BackendError at once, with a hint on what to fix.
 */
export function postJson(
  client: OpenAIHttpClient,
  path: string,
  body: string,
  signal?: AbortSignal,
): Promise<unknown> {
  // Without a consumer every answer is read whole: it is always `{ json }`.
  return post(client, path, body, signal).then(jsonOf);
}

const jsonOf = (answer: Answer): unknown => (answer as { json: unknown }).json;

/**
 * What a streamed request's consumer does with each server-sent event: "more" to keep reading,
 * "enough" to close the connection (the server then stops generating).
 */
export type StreamConsumer = (event: unknown) => "more" | "enough";

/**
 * POSTs `body` asking for a stream and hands each `data:` event, parsed, to `consume` as it
 * arrives. A server that answers with plain JSON instead (it does not stream) gets `{ json }`
 * back. Retries as `postJson` does while nothing has been consumed; once events went out, a
 * failure is final, since they cannot be taken back. The timeout bounds the wait for each
 * next byte, not the whole stream.
 */
export function postStream(
  client: OpenAIHttpClient,
  path: string,
  body: string,
  consume: StreamConsumer,
  signal?: AbortSignal,
): Promise<Answer> {
  return post(client, path, body, signal, consume);
}

/**
 * The first attempt, and the retries only if it failed: a request that succeeds at once (all
 * of them, on a healthy upstream) holds no frame of its own while it waits.
 */
function post(
  client: OpenAIHttpClient,
  path: string,
  body: string,
  signal?: AbortSignal,
  consume?: StreamConsumer,
): Promise<Answer> {
  const url = `${client.baseURL}${path}`;
  const progress = { consumed: false };
  return attemptOnce(client, url, body, signal, consume, progress).then((outcome) =>
    "retryable" in outcome ? retry(client, url, body, signal, consume, progress, outcome) : outcome,
  );
}

/** Tries again after `failure` (the first attempt's), with backoff, until an answer or the last attempt. */
async function retry(
  client: OpenAIHttpClient,
  url: string,
  body: string,
  signal: AbortSignal | undefined,
  consume: StreamConsumer | undefined,
  progress: { consumed: boolean },
  failure: Failure,
): Promise<Answer> {
  let outcome: Answer | Failure = failure;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) outcome = await attemptOnce(client, url, body, signal, consume, progress);
    if (!("retryable" in outcome)) return outcome;
    if (!outcome.retryable || progress.consumed) throw outcome.error;
    if (attempt >= client.retry.maxRetries) {
      const { error } = outcome;
      const tries = attempt + 1;
      throw new BackendError(
        `${error.message.split("\n")[0]} (gave up after ${tries} attempt${tries === 1 ? "" : "s"})`,
        error.status,
        error.hint,
        outcome.retryAfterMs,
        error.code,
      );
    }
    const delayMs = retryDelayMs(attempt, client.retry, outcome.retryAfterMs);
    client.onRetry?.({ retry: attempt + 1, delayMs, status: outcome.status, reason: outcome.error.message });
    await sleep(delayMs, waitSignal(client, signal));
  }
}

async function attemptOnce(
  client: OpenAIHttpClient,
  url: string,
  body: string,
  signal: AbortSignal | undefined,
  consume: StreamConsumer | undefined,
  progress: { consumed: boolean },
): Promise<Answer | Failure> {
  if (signal?.aborted || client.closing?.closed) throw new AbortedError();
  // What cuts this attempt off: the caller's signal, close() and the timeout.
  const attempt = new AttemptCut(client.timeoutMs);
  const { cut } = attempt;
  signal?.addEventListener("abort", cut, { once: true });
  const unhold = client.closing?.hold(cut);
  let release: (() => void) | undefined;
  try {
    const { semaphore } = client;
    // Only a wait for a free slot listens for close() as well.
    release = await semaphore.acquire(
      semaphore.inUse < semaphore.limit ? signal : waitSignal(client, signal),
    );
    attempt.arm();
    const reply = await exchange(client, url, body, attempt, consume, progress);
    if ("streamed" in reply) return reply;
    return interpret(client, url, reply.status, reply.headers, reply.text);
  } catch (error) {
    if (signal?.aborted || client.closing?.closed) throw new AbortedError();
    if (attempt.timedOut) {
      return {
        retryable: true,
        error: new BackendError(
          progress.consumed
            ? `${url} sent nothing more for ${client.timeoutMs} ms`
            : `${url} did not answer within ${client.timeoutMs} ms`,
          undefined,
          "raise the timeout (--timeout SECONDS, or timeoutMs), lower the max tokens, or check that the server is not overloaded",
          undefined,
          "timeout",
        ),
      };
    }
    if (isNetworkError(error)) {
      const code = networkCode(error);
      return {
        retryable: true,
        error: new BackendError(
          `could not reach ${url}${code ? ` (${code})` : ""}`,
          undefined,
          `is the server running at ${client.baseURL}?`,
          undefined,
          "unreachable",
        ),
      };
    }
    throw error;
  } finally {
    attempt.disarm();
    signal?.removeEventListener("abort", cut);
    unhold?.();
    release?.();
  }
}

/** A whole answer, or the end of an event stream that went to its consumer. */
type Reply = { status: number; headers: Headers; text: string } | { streamed: true };

/**
 * One POST through undici's dispatcher, with a handler of its own: the answer's bytes are
 * collected, or an event stream's events handed to `consume`, as they arrive. undici's
 * `request` would build a Readable stream and a request wrapper around every answer, much of
 * what a proxy spends per request on a fast upstream.
 */
function exchange(
  client: OpenAIHttpClient,
  url: string,
  body: string,
  attempt: AttemptCut,
  consume: StreamConsumer | undefined,
  progress: { consumed: boolean },
): Promise<Reply> {
  const { origin, prefix, headers } = wireOf(client, consume !== undefined);
  return new Promise((resolve, reject) => {
    const handler = new ReplyHandler(url, attempt, consume, progress, resolve, reject);
    keepAlive.dispatch(
      { origin, path: `${prefix}${url.slice(client.baseURL.length)}`, method: "POST", headers, body },
      handler,
    );
  });
}

/** Receives one answer for `exchange`; settles its promise once, whatever comes after. */
class ReplyHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private status = 0;
  private headers: Headers = {};
  private readonly chunks: Buffer[] = [];
  /** Set when the answer is the event stream a consumer asked for. */
  private events: EventFeed | undefined;

  constructor(
    private readonly url: string,
    private readonly attempt: AttemptCut,
    private readonly consume: StreamConsumer | undefined,
    private readonly progress: { consumed: boolean },
    private readonly resolve: (reply: Reply) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    attempt.addEventListener("abort", this.cut);
  }

  /** The attempt was cut off (its caller, close() or the timeout): the connection goes too. */
  private readonly cut = (): void => {
    this.settle(undefined, new AbortedError());
    this.controller?.abort(new AbortedError());
  };

  /** Resolves or rejects the exchange, the first time only (an abort reports back at once). */
  private settle(reply: Reply | undefined, error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.attempt.removeEventListener("abort", this.cut);
    if (reply) this.resolve(reply);
    else this.reject(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Cut off while it waited for a connection.
    if (this.settled) controller.abort(new AbortedError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    if (status < 200) return; // an informational answer; the real one follows
    this.status = status;
    this.headers = headers;
    if (this.consume && status < 300 && /text\/event-stream/i.test(headerOf(headers, "content-type") ?? ""))
      this.events = new EventFeed(this.url, status, this.consume, this.progress);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (!this.events) {
      this.chunks.push(chunk);
      return;
    }
    // A stream's timeout bounds the wait for each next byte, not the whole stream.
    this.attempt.arm();
    let next: "more" | "done" | "enough";
    try {
      next = this.events.push(chunk);
    } catch (error) {
      this.settle(undefined, error);
      controller.abort(error as Error);
      return;
    }
    if (next === "more") return;
    this.settle({ streamed: true });
    // Closing the connection is how an OpenAI-compatible server learns to stop.
    if (next === "enough") controller.abort(new AbortedError());
  }

  onResponseEnd(): void {
    this.settle(
      this.events
        ? { streamed: true }
        : { status: this.status, headers: this.headers, text: Buffer.concat(this.chunks).toString("utf8") },
    );
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle(undefined, error);
  }
}

/** An event stream's bytes in, each `data:` event parsed and handed to its consumer. */
class EventFeed {
  // Keeps a character split between two chunks for the next; faster than TextDecoder's stream mode.
  private readonly decoder = new StringDecoder("utf8");
  /** The last line, until its end arrives. */
  private partial = "";

  constructor(
    private readonly url: string,
    private readonly status: number,
    private readonly consume: StreamConsumer,
    private readonly progress: { consumed: boolean },
  ) {}

  /** "done" after `[DONE]`, "enough" when the consumer says so; throws on a malformed event. */
  push(bytes: Buffer): "more" | "done" | "enough" {
    const text = this.partial + this.decoder.write(bytes);
    // Line by line, without splitting the whole text into an array first: this runs per token.
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
      const line = text.slice(start, text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      start = end + 1;
      // Comments, event names and the blank lines between events carry no data.
      if (!line.startsWith("data:")) continue;
      const data = line.slice(line.startsWith("data: ") ? 6 : 5);
      if (data === "[DONE]") return "done";
      if (this.handle(data) === "enough") return "enough";
    }
    this.partial = text.slice(start);
    return "more";
  }

  private handle(data: string): "more" | "enough" {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      throw new BackendError(
        `${this.url} sent a malformed event: ${snippet(data)}`,
        this.status,
        undefined,
        undefined,
        "bad-response",
      );
    }
    this.progress.consumed = true;
    return this.consume(event) === "enough" ? "enough" : "more";
  }
}

/** Where a client's requests go and their headers, worked out once per client. */
interface Wire {
  origin: string;
  /** The base URL's path, which every request's path starts with (`/v1`). */
  prefix: string;
  /** undici does not change a request's headers object: one per client and kind serves all. */
  headers: Record<string, string>;
}

const wiresOf = new WeakMap<OpenAIHttpClient, { plain: Wire; stream: Wire }>();

function wireOf(client: OpenAIHttpClient, stream: boolean): Wire {
  let built = wiresOf.get(client);
  if (!built) {
    const base = new URL(client.baseURL);
    const prefix = base.pathname.replace(/\/$/, "");
    const wire = (accept: string): Wire => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept,
        ...client.headers,
      };
      if (client.apiKey) headers.authorization = `Bearer ${client.apiKey}`;
      return { origin: base.origin, prefix, headers };
    };
    built = { plain: wire("application/json"), stream: wire("text/event-stream, application/json") };
    wiresOf.set(client, built);
  }
  return stream ? built.stream : built.plain;
}

/**
 * One connection pool for every backend in the process: undici's dispatcher over kept-alive
 * connections, several times the throughput of `fetch` on Node 20 when hundreds of requests are
 * in flight (a proxy in front of a fast server).
 */
const keepAlive = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

type Headers = Record<string, string | string[] | undefined>;
const headerOf = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function interpret(
  client: OpenAIHttpClient,
  url: string,
  status: number,
  headers: Headers,
  text: string,
): { json: unknown } | Failure {
  const contentType = headerOf(headers, "content-type") ?? "";
  if (status >= 200 && status < 300) {
    try {
      return { json: JSON.parse(text) };
    } catch {
      if (contentType !== "" && !/json/i.test(contentType)) {
        // An HTML page usually means the URL points at a web UI or proxy, not the API.
        return {
          retryable: false,
          error: new BackendError(
            `${url} answered with ${contentType.split(";")[0]}, not JSON`,
            status,
            `is baseURL the API root (often ending in /v1, e.g. http://127.0.0.1:8000/v1)?`,
            undefined,
            "bad-response",
          ),
        };
      }
      return {
        retryable: true,
        status,
        error: new BackendError(
          `${url} returned malformed JSON: ${snippet(text)}`,
          status,
          "the server or a proxy in between truncated the response; check the server logs",
          undefined,
          "bad-response",
        ),
      };
    }
  }
  const message = serverMessage(text);
  const described = `${url} returned HTTP ${status}${message ? `: ${message}` : ""}`;
  if (status === 408 || status === 429 || status >= 500) {
    return {
      retryable: true,
      status,
      retryAfterMs: parseRetryAfter(headerOf(headers, "retry-after") ?? null),
      error: new BackendError(
        described,
        status,
        status === 429
          ? "the server kept rate-limiting; lower concurrency or retry later"
          : "the server kept failing; check its logs",
        undefined,
        status === 429 ? "rate-limited" : status === 408 ? "timeout" : "upstream-failed",
      ),
    };
  }
  return {
    retryable: false,
    status,
    error: new BackendError(
      described,
      status,
      hintFor(client, status, message),
      undefined,
      refusalCode(status, message),
    ),
  };
}

/**
 * What a server's refusal is about. Servers say it only in words, so this is the one place
 * that reads them (vLLM, llama.cpp's server, OpenAI and Ollama phrase these alike).
 */
function refusalCode(status: number, message: string): BackendErrorCode {
  if (status !== 400 && status !== 413 && status !== 422) return "rejected";
  if (/context|too long|maximum|max_tokens|exceeds/i.test(message)) return "prompt-too-long";
  if (/\bn\b|choice/i.test(message.split("\n")[0]!)) return "n-unsupported";
  return "rejected";
}

function hintFor(client: OpenAIHttpClient, status: number, message: string): string {
  const aboutModel = /model/i.test(message);
  if (status === 401 || status === 403)
    return "check the API key (option apiKey, or the OPENAI_API_KEY environment variable)";
  if (status === 404 && aboutModel)
    return `the server does not know model "${client.model}"; GET ${client.baseURL}/models lists the ones it serves`;
  if (status === 404)
    return `no such endpoint: is baseURL the API root (e.g. http://127.0.0.1:8000/v1), and does the server offer this mode (chat or completion)?`;
  if (aboutModel)
    return `check the model name "${client.model}"; GET ${client.baseURL}/models lists the ones it serves`;
  return "the server rejected the request; check the sampling options (some servers reject top_k, seed, logprobs or n)";
}

/** The human-readable part of an error body in the shapes OpenAI, vLLM and llama.cpp use. */
function serverMessage(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const error = json.error;
    if (typeof error === "string") return error;
    if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string")
      return (error as { message: string }).message;
    if (typeof json.message === "string") return json.message;
    if (typeof json.detail === "string") return json.detail;
  } catch {
    // not JSON: fall through to the raw text
  }
  return snippet(text);
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
