/**
 * POST /v1/chat/completions, POST /v1/completions, GET /v1/models. Each completion request
 * runs its strategy through `run()`, with the client's disconnect (and server shutdown)
 * cancelling all upstream work through one AbortSignal.
 */
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import type { TokenEvent } from "../core/backend.js";
import type { BudgetLimits } from "../core/budget.js";
import { Meter } from "../core/meter.js";
import { meteringMiddleware } from "../core/metering.js";
import { collectTrace, type TraceEvent } from "../core/trace.js";
import { type ChatMessage, type Result, type Task, taskPrompt, totalTokens } from "../core/types.js";
import type { Verifier } from "../core/verifier.js";
import { run } from "../run.js";
import { listStrategies } from "../strategies/registry.js";
import { getTask } from "../tasks/registry.js";
import { recordCompletion } from "./access-log.js";
import type { ApiKeyAuth, Caller } from "./auth.js";
import { promptBound, requestCapsMiddleware } from "./caps.js";
import type { ServerConfig } from "./config.js";
import { clientClosedStatus, HttpError, invalidRequest } from "./errors.js";
import type { Admission, KeyLimiter } from "./limits.js";
import type { LiveRequests } from "./live.js";
import type { ServerMetrics } from "./metrics.js";
import type { Endpoint, ModelSource } from "./models.js";
import {
  type ChatBody,
  type CompletionBody,
  chatBodySchema,
  chatMessages,
  completionBodySchema,
  parseBody,
  refuseUnhonoured,
  requestParam,
  samplingOf,
  selectStrategy,
} from "./request.js";
import {
  chosenCandidate,
  chunk,
  completionResponse,
  openAIFinishReason,
  openAIUsage,
  type ResponseIds,
  reckonSummary,
  usageChunk,
  wireLogprobs,
} from "./responses.js";
import { SseStream } from "./stream.js";
import type { ServerVerifiers } from "./verifiers.js";

export interface RouteDeps {
  config: ServerConfig;
  source: ModelSource;
  auth: ApiKeyAuth;
  limiter: KeyLimiter;
  metrics: ServerMetrics;
  live: LiveRequests;
  /** The verifiers clients may choose, by name. */
  verifiers: ServerVerifiers;
  /** What a client is told of an error: redacted, logged when it is the server's fault. */
  present(error: unknown, paramOf?: (field: string) => string): HttpError;
  /** Aborts every request still running when the server stops draining. */
  shutdown: AbortSignal;
  /** Counts a request as in flight until the returned function is called (shutdown drains them). */
  track(): () => void;
}

export function openAIRoutes(app: Hono, deps: RouteDeps): void {
  app.post("/v1/chat/completions", (c) => complete(c, "chat", deps));
  app.post("/v1/completions", (c) => complete(c, "completion", deps));
  app.get("/v1/models", async (c) => {
    deps.auth.identify(c.req.header("authorization"));
    const models = await deps.source.list(c.req.raw.signal);
    const created = Math.floor(Date.now() / 1000);
    const entry = (id: string, owned_by: string) => ({ id, object: "model", created, owned_by });
    // Each model, then every strategy that can answer here as a prefix of it
    // (`self-consistency/<model>`): those needing a verifier only when a default one is set.
    const usable = listStrategies().filter(
      (s) => !s.needsVerifier || deps.verifiers.defaultSpec !== undefined,
    );
    const data = models.flatMap((model) => [
      entry(model, "upstream"),
      ...usable.map((s) => entry(`${s.name}/${model}`, "reckon")),
    ]);
    return c.json({ object: "list", data });
  });
}

/** The JSON body, or OpenAI's 400 for one that does not parse. */
async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
    );
  }
}

async function complete(c: Context, endpoint: Endpoint, deps: RouteDeps): Promise<Response> {
  const { config, source } = deps;
  const caller = deps.auth.identify(c.req.header("authorization"));
  const raw = await readJson(c);
  const body =
    endpoint === "chat"
      ? parseBody(chatBodySchema, raw)
      : (parseBody(completionBodySchema, raw) as CompletionBody);
  const selection = selectStrategy(body.model, body.reckon, config);
  refuseUnhonoured(body, selection.strategy.name);
  const sampling = samplingOf(body, config);
  const taskName = selection.task ?? config.task ?? source.defaultTask;
  const { task, verifier } = await withParams(deps, async () => {
    const task = getTask(taskName);
    // Only a name the server offers: a client never gives a verifier's address.
    const verifierSpec = deps.verifiers.specFor(selection.verifier);
    let verifier: Verifier | undefined;
    if (selection.strategy.needsVerifier) {
      if (!verifierSpec)
        throw invalidRequest(`strategy "${selection.strategy.name}" needs a verifier`, "reckon.verifier");
      verifier = await deps.verifiers.resolve(verifierSpec, taskName);
    }
    return { task, verifier };
  });
  const backend = await source.backendFor(selection.model, endpoint);
  const prompt = promptFor(endpoint, body, backend.capabilities.chat, task);
  const { admission, budget } = admit(deps, caller, selection.budget, prompt);

  const untrack = deps.track();
  const started = performance.now();
  const ids: ResponseIds = {
    id: `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID().replaceAll("-", "")}`,
    created: Math.floor(Date.now() / 1000),
    model: body.model,
  };
  const live = deps.live.start({
    id: ids.id,
    startedAt: new Date().toISOString(),
    endpoint,
    model: body.model,
    strategy: selection.strategy.name,
    caller: caller.name,
    stream: body.stream === true,
  });
  const cancel = new AbortController();
  // A timer cleared when the request ends: AbortSignal.timeout would keep one per request
  // alive for the whole limit, hundreds of thousands of them under load.
  const overtimeController = new AbortController();
  const overtime = overtimeController.signal;
  const overtimer = setTimeout(() => overtimeController.abort(), config.limits.maxRequestMs);
  overtimer.unref();
  const signal = AbortSignal.any([c.req.raw.signal, cancel.signal, deps.shutdown, overtime]);
  const failureOf = (error: unknown) =>
    deps.present(overtime.aborted ? requestTimedOut(config) : error, requestParam);
  const trace = collectTrace();
  // What the strategy spent, so far when it fails or is cancelled (for the access log).
  const spent = new Meter();
  let finished = false;
  const finish = (status: number, result?: Result, error?: HttpError) => {
    if (finished) return;
    finished = true;
    clearTimeout(overtimer);
    recordCompletion(c, {
      id: ids.id,
      model: body.model,
      strategy: selection.strategy.name,
      stream: body.stream === true,
      status,
      usage: result?.usage ?? spent.usage,
      ...(error ? { error: error.code ?? error.type } : {}),
      prompt,
      ...(result ? { answer: chosenCandidate(result)?.text ?? "" } : {}),
    });
    // Plain responses are counted by the app's middleware; a stream only ends here.
    const route = endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions";
    if (body.stream === true) deps.metrics.request(route, status, (performance.now() - started) / 1000);
    if (result) deps.metrics.strategyRun(result.strategy, result.stopReason, result.usage);
    // The key is charged what `usage` reports to the client: cached prompt tokens included.
    admission.release(result ? billedTokens(result) : 0);
    deps.live.end(live, status, result, error?.message);
    untrack();
  };

  const runRequest = (onTrace?: (event: TraceEvent) => void, onAnswerToken?: (event: TokenEvent) => void) =>
    run({
      ...(onAnswerToken ? { onAnswerToken } : {}),
      problem: { id: ids.id, prompt, task },
      backend,
      strategy: selection.strategy.name,
      options: selection.options,
      verifier,
      sampling,
      budget,
      signal,
      middleware: [
        requestCapsMiddleware({
          maxSamples: config.limits.maxSamples,
          // Counted as `usage` counts them: the budget holds in the client's terms too.
          maxTokens: Math.min(config.limits.maxBudgetTokens, budget.maxTokens ?? Infinity),
          maxTokensPerSample: config.limits.maxTokensPerSample,
        }),
        meteringMiddleware({ meter: spent }),
      ],
      trace: onTrace
        ? (event) => {
            trace.sink(event);
            onTrace(event);
          }
        : trace.sink,
    });

  const summarize = (result: Result) => {
    const chosen = chosenCandidate(result);
    return {
      text: chosen?.text ?? "",
      reasoning: chosen?.reasoning,
      logprobs: sampling.logprobs ? wireLogprobs(endpoint, chosen?.logprobs) : null,
      finish: openAIFinishReason(chosen?.finishReason),
      usage: openAIUsage(result),
      reckon: billedSummary(
        reckonSummary(result, selection.options, budget, selection.trace ? trace.events : undefined),
        result,
      ),
    };
  };

  if (body.stream !== true) {
    try {
      const result = await runRequest();
      const { text, reasoning, logprobs, finish: reason, usage, reckon } = summarize(result);
      finish(200, result);
      return c.json(
        completionResponse(endpoint, ids, text, reason, usage, reckon, logprobs, reasoning),
        200,
        {
          "server-timing": `total;dur=${(performance.now() - started).toFixed(2)}, upstream;dur=${result.usage.latencyMs.toFixed(2)}`,
        },
      );
    } catch (error) {
      const failure = failureOf(error);
      finish(
        signal.aborted && failure.status === clientClosedStatus ? clientClosedStatus : failure.status,
        undefined,
        failure,
      );
      throw failure;
    }
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const usageField = includeUsage ? { usage: null } : {};
  const sse = new SseStream(() => cancel.abort());
  sse.data(chunk(endpoint, ids, { role: "assistant", content: "" }, null, usageField));
  // Text a strategy streams as it is decoded (single) goes out at once; the rest of the answer
  // goes out the moment the strategy has decided.
  let streamed = "";
  let streamedReasoning = false;
  // The thinking streams as `reasoning_content` deltas, as reasoning servers send it (chat only).
  const sendReasoning = (reasoning: string | undefined) => {
    if (endpoint !== "chat" || !reasoning) return;
    streamedReasoning = true;
    sse.data(chunk(endpoint, ids, { reasoning_content: reasoning }, null, usageField));
  };
  const onAnswerToken = (event: TokenEvent) => {
    sendReasoning(event.reasoning);
    if (event.text === "") return;
    streamed += event.text;
    sse.data(
      chunk(endpoint, ids, { content: event.text }, null, usageField, wireLogprobs(endpoint, event.logprobs)),
    );
  };
  void (async () => {
    try {
      const result = await runRequest(
        (event) => sse.comment(`reckon ${JSON.stringify(compactEvent(event))}`),
        onAnswerToken,
      );
      const { text, reasoning, finish: reason, usage, reckon } = summarize(result);
      if (!streamedReasoning) sendReasoning(reasoning);
      const rest = text.startsWith(streamed) ? text.slice(streamed.length) : "";
      if (rest !== "") sse.data(chunk(endpoint, ids, { content: rest }, null, usageField));
      sse.data(chunk(endpoint, ids, {}, reason, { ...usageField, reckon }));
      if (includeUsage) sse.data(usageChunk(endpoint, ids, usage));
      sse.done();
      finish(200, result);
    } catch (error) {
      const failure = failureOf(error);
      if (signal.aborted && !deps.shutdown.aborted && !overtime.aborted) {
        finish(clientClosedStatus, undefined, failure);
        sse.close();
        return;
      }
      sse.data(failure.body());
      sse.done();
      finish(failure.status, undefined, failure);
    }
  })();
  return sse.response;
}

/** Runs `work`, naming fields in the request's words when it rejects the input. */
async function withParams<T>(deps: RouteDeps, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw deps.present(error, requestParam);
  }
}

/**
 * Admits the request under its key's limits. Under a token limit the request's budget is
 * reserved from the key's window before any work (and is its hard limit); without auth only
 * the server-wide limit applies.
 */
function admit(
  deps: RouteDeps,
  caller: Caller,
  requested: BudgetLimits,
  prompt: string | ChatMessage[],
): { admission: Admission; budget: BudgetLimits } {
  const { config } = deps;
  const limits = caller.key
    ? {
        maxConcurrent: caller.key.maxConcurrent ?? config.keyDefaults.maxConcurrent,
        tokensPerMinute: caller.key.tokensPerMinute ?? config.keyDefaults.tokensPerMinute,
      }
    : {};
  const wanted = requested.maxTokens ?? config.keyDefaults.requestTokens;
  // A request the window cannot pay one sample's prompt and first token for waits (429).
  const admission = deps.limiter.admit(caller.name, limits, wanted, promptBound(prompt) + 1);
  const budget = { ...requested };
  if (admission.tokenAllowance !== undefined)
    budget.maxTokens = Math.min(budget.maxTokens ?? Infinity, admission.tokenAllowance);
  return { admission, budget };
}

/**
 * The summary's `budget.spent_tokens` as `usage.total_tokens` counts: a prompt served from the
 * upstream's prefix cache is still a prompt token the client is billed for (and the key and
 * the request's caps count it so).
 */
function billedSummary<Summary extends { budget: { spent_tokens: number } }>(
  summary: Summary,
  result: Result,
): Summary {
  summary.budget.spent_tokens = billedTokens(result);
  return summary;
}

/** Tokens as the response's `usage.total_tokens` counts them (cached prompt tokens included). */
function billedTokens(result: Result): number {
  return totalTokens(result.usage) + (result.usage.cachedPromptTokens ?? 0);
}

const requestTimedOut = (config: ServerConfig) =>
  new HttpError(
    504,
    `the request ran longer than this server's limit of ${config.limits.maxRequestMs} ms`,
    "upstream_error",
    null,
    "request_timeout",
  );

/**
 * The prompt in the shape the backend takes: chat messages, or plain text for a completion
 * model (messages joined) in the task's own prompt (the bundled model's task: its `Q: …=?` form).
 */
function promptFor(
  endpoint: Endpoint,
  body: ChatBody | CompletionBody,
  chat: boolean,
  task: Task,
): string | ChatMessage[] {
  if (endpoint === "completion") {
    const { prompt } = body as CompletionBody;
    return typeof prompt === "string" ? prompt : prompt[0]!;
  }
  const messages = chatMessages(body as ChatBody);
  if (chat) return messages;
  const text = messages.map((m) => m.content).join("\n");
  return taskPrompt(task, text);
}

/** A trace event small enough for one SSE comment: long texts are cut. */
function compactEvent(event: TraceEvent): TraceEvent {
  if (event.text === undefined || event.text.length <= 400) return event;
  return { ...event, text: `${event.text.slice(0, 400)}…` };
}
