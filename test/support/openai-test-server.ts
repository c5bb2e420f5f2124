/**
 * A real OpenAI-compatible HTTP server on 127.0.0.1 (ephemeral port) for tests.
 *
 *   const server = await startOpenAITestServer({ respond: (req, i) => `answer ${i}` });
 *   createOpenAIBackend({ baseURL: server.url, model: "test-model" });   // url ends in /v1
 *   server.requests;      // every POST received, in order, with its parsed body
 *   server.maxInFlight;   // most completion requests handled at the same time
 *   await server.close();
 *
 * Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models. No streaming.
 * Options:
 *   respond(request, sampleIndex) → string | { text, finishReason?, reasoning? }; the default
 *     answers deterministically from (seed, sampleIndex, prompt) when a seed is sent, randomly
 *     otherwise. `reasoning` is thinking sent apart, as `reasoning_content` (chat only): its
 *     words come before the text's under `max_tokens` and are counted in `usage` and in
 *     `completion_tokens_details.reasoning_tokens`.
 *   ignoreN      return one choice whatever `n` asks (like Ollama).
 *   rejectN      answer 400 to any `n` other than 1 (like llama.cpp server).
 *   omitUsage    leave `usage` out of responses.
 *   latencyMs    delay every completion response (to observe concurrency).
 *   tokenLatencyMs  delay each completion response by this much per completion token, as a
 *                server decoding at a fixed speed would (short answers come back first).
 *   models       served model names; others get a 404 "model not found" (default: any name).
 *   apiKey       require `Authorization: Bearer <apiKey>`, else 401.
 *   faults       per request number (1-based, counting completion POSTs): a map or a function
 *                returning a Fault, e.g. { 1: { kind: "status", status: 429, retryAfter: "1" } }.
 * Tokens are whitespace-separated words: usage counts them, `max_tokens` truncates to them
 * (finish "length"), `stop` cuts the text, and logprobs are returned per word when asked.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  | { kind: "status"; status: number; retryAfter?: string; message?: string }
  /** Destroy the socket without answering (connection reset). */
  | { kind: "reset" }
  /** Answer normally, but only after `delayMs`. */
  | { kind: "slow"; delayMs: number }
  /** 200 with a truncated JSON body. */
  | { kind: "malformed-json" }
  /** 200 with an HTML page, as a web UI or proxy would send. */
  | { kind: "wrong-content-type" }
  /** Any JSON body (default status 200), e.g. a wrong shape or an error object. */
  | { kind: "json"; body: unknown; status?: number };

export interface ReceivedRequest {
  /** 1-based position among completion POSTs. */
  number: number;
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary wire fields
  body: any;
  authorization?: string;
}

export interface TestRequestView {
  endpoint: "chat" | "completion";
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary wire fields
  body: any;
  /** The prompt as plain text (chat messages joined by newlines). */
  prompt: string;
  seed?: number;
}

export type Responder = (
  request: TestRequestView,
  sampleIndex: number,
) => string | { text: string; finishReason?: "stop" | "length"; reasoning?: string };

export interface OpenAITestServerOptions {
  respond?: Responder;
  ignoreN?: boolean;
  rejectN?: boolean;
  omitUsage?: boolean;
  latencyMs?: number;
  tokenLatencyMs?: number;
  models?: string[];
  apiKey?: string;
  faults?: Record<number, Fault> | ((requestNumber: number) => Fault | undefined);
}

export interface OpenAITestServer {
  /** Base URL including `/v1`. */
  url: string;
  requests: ReceivedRequest[];
  readonly maxInFlight: number;
  close(): Promise<void>;
}

const words = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? [];

/** A small deterministic hash (FNV-1a) so seeded answers repeat exactly. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const defaultResponder: Responder = (request, sampleIndex) => {
  const key =
    request.seed === undefined ? String(Math.random()) : `${request.seed}|${sampleIndex}|${request.prompt}`;
  return `The answer is ${hash(key) % 1000}.`;
};

export async function startOpenAITestServer(
  options: OpenAITestServerOptions = {},
): Promise<OpenAITestServer> {
  const requests: ReceivedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const faultFor = (n: number): Fault | undefined =>
    typeof options.faults === "function" ? options.faults(n) : options.faults?.[n];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error) } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    const raw = await readBody(req);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } });
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      const data = (options.models ?? ["test-model"]).map((id) => ({
        id,
        object: "model",
        owned_by: "test",
      }));
      sendJson(res, 200, { object: "list", data });
      return;
    }
    const endpoint =
      path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "completion" : undefined;
    if (req.method !== "POST" || endpoint === undefined) {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } });
      return;
    }
    let body: ReceivedRequest["body"];
    try {
      body = JSON.parse(raw);
    } catch {
      sendJson(res, 400, { error: { message: "request body is not JSON" } });
      return;
    }
    const number = requests.length + 1;
    requests.push({ number, path, body, authorization: req.headers.authorization });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => inFlight--);

    const fault = faultFor(number);
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    const delay = (fault?.kind === "slow" ? fault.delayMs : 0) + (options.latencyMs ?? 0);
    if (delay > 0 && !(await wait(delay, res))) return;
    if (fault?.kind === "status") {
      if (fault.retryAfter !== undefined) res.setHeader("retry-after", fault.retryAfter);
      sendJson(res, fault.status, { error: { message: fault.message ?? `injected HTTP ${fault.status}` } });
      return;
    }
    if (fault?.kind === "malformed-json") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"id":"cmpl-1","choices":[{"text":"tru');
      return;
    }
    if (fault?.kind === "json") {
      sendJson(res, fault.status ?? 200, fault.body);
      return;
    }
    if (fault?.kind === "wrong-content-type") {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end("<html><body>Welcome to the web UI</body></html>");
      return;
    }
    if (options.rejectN && body.n !== undefined && body.n !== 1) {
      sendJson(res, 400, {
        error: { message: "Only one completion choice is allowed", type: "invalid_request_error" },
      });
      return;
    }
    if (options.models && !options.models.includes(body.model)) {
      sendJson(res, 404, {
        error: { message: `The model \`${body.model}\` does not exist.`, code: "model_not_found" },
      });
      return;
    }
    const response = completionResponse(endpoint, body);
    const decodeMs = (options.tokenLatencyMs ?? 0) * response.completionTokens;
    if (decodeMs > 0 && !(await wait(decodeMs, res))) return;
    sendJson(res, 200, response.body);
  }

  function completionResponse(
    endpoint: "chat" | "completion",
    body: ReceivedRequest["body"],
  ): { body: unknown; completionTokens: number } {
    const prompt =
      endpoint === "chat"
        ? (body.messages as { content: string }[]).map((m) => m.content).join("\n")
        : String(body.prompt);
    const view: TestRequestView = { endpoint, body, prompt, seed: body.seed };
    const count = options.ignoreN ? 1 : (body.n ?? 1);
    const topCount = endpoint === "chat" ? (body.top_logprobs ?? 0) : (body.logprobs ?? 0);
    const wantLogprobs = endpoint === "chat" ? body.logprobs === true : typeof body.logprobs === "number";
    let completionTokens = 0;
    let reasoningTokens = 0;
    const choices = Array.from({ length: count }, (_, index) => {
      const answer = (options.respond ?? defaultResponder)(view, index);
      let text = typeof answer === "string" ? answer : answer.text;
      let finishReason = typeof answer === "string" ? "stop" : (answer.finishReason ?? "stop");
      // As vLLM does: the matched stop string comes back as `stop_reason`.
      let stopReason: string | null = null;
      for (const stop of (body.stop as string[] | undefined) ?? []) {
        const at = text.indexOf(stop);
        if (at >= 0) {
          text = text.slice(0, at);
          stopReason = stop;
          finishReason = "stop";
        }
      }
      let thinking = typeof answer === "string" || endpoint !== "chat" ? [] : words(answer.reasoning ?? "");
      if (typeof body.max_tokens === "number" && thinking.length > body.max_tokens) {
        thinking = thinking.slice(0, body.max_tokens);
        text = "";
        finishReason = "length";
      }
      let tokens = words(text);
      const room = typeof body.max_tokens === "number" ? body.max_tokens - thinking.length : Infinity;
      if (tokens.length > room) {
        tokens = tokens.slice(0, room);
        text = tokens.join("");
        finishReason = "length";
      }
      completionTokens += thinking.length + tokens.length;
      reasoningTokens += thinking.length;
      const reasoning = thinking.length > 0 ? { reasoning_content: thinking.join("") } : {};
      const logprobs = wantLogprobs ? tokenLogprobs(endpoint, tokens, topCount) : undefined;
      return endpoint === "chat"
        ? {
            index,
            message: { role: "assistant", content: text, ...reasoning },
            finish_reason: finishReason,
            stop_reason: stopReason,
            logprobs,
          }
        : { index, text, finish_reason: finishReason, stop_reason: stopReason, logprobs };
    });
    const response: Record<string, unknown> = {
      id: `cmpl-${requests.length}`,
      object: endpoint === "chat" ? "chat.completion" : "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices,
    };
    if (!options.omitUsage) {
      const promptTokens = words(prompt).length;
      response.usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        ...(reasoningTokens > 0 ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
      };
    }
    return { body: response, completionTokens };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Per-word logprobs: token i has logprob -(i+1)/10; alternative k is k nats worse. */
function tokenLogprobs(endpoint: "chat" | "completion", tokens: string[], topCount: number): unknown {
  const logprob = (i: number) => -(i + 1) / 10;
  const alternatives = (token: string, i: number) =>
    Array.from({ length: topCount }, (_, k) => ({
      token: k === 0 ? token : `alt${k}`,
      logprob: logprob(i) - k,
    }));
  if (endpoint === "chat")
    return {
      content: tokens.map((token, i) => ({
        token,
        logprob: logprob(i),
        top_logprobs: alternatives(token, i),
      })),
    };
  return {
    tokens,
    token_logprobs: tokens.map((_, i) => logprob(i)),
    top_logprobs: tokens.map((token, i) =>
      Object.fromEntries(alternatives(token, i).map((a) => [a.token, a.logprob])),
    ),
    text_offset: tokens.map((_, i) => tokens.slice(0, i).join("").length),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Waits `ms` unless the client goes away first; resolves to whether it is still there. */
function wait(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(!res.destroyed);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    res.once("close", onClose);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
