/**
 * The one pipeline behind every API the server speaks (Chat Completions, Completions,
 * Responses, Messages): a request in the chat route's shape gets its strategy, task and
 * verifier, is admitted under its key's limits and runs through `run()` under the request
 * caps, with the client's disconnect, shutdown and the request's time limit cancelling all
 * upstream work through one AbortSignal; metrics and the dashboard's live view count it here.
 * Each front end translates its request into this shape and the answer (or its stream of
 * pieces) back into its own.
 */
import { ServerResponse } from "node:http";
import type { Context } from "hono";
import type { SamplingOptions, TokenEvent } from "../core/backend.js";
import type { BudgetLimits } from "../core/budget.js";
import { Meter } from "../core/meter.js";
import type { TraceEvent, TraceSink } from "../core/trace.js";
import {
  type Candidate,
  type ChatMessage,
  type Result,
  type Task,
  type TokenLogprob,
  taskPrompt,
  totalTokens,
} from "../core/types.js";
import type { Verifier } from "../core/verifier.js";
import { run } from "../run.js";
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
  chatMessages,
  refuseUnhonoured,
  requestParam,
  samplingOf,
  selectStrategy,
} from "./request.js";
import {
  chosenCandidate,
  type OpenAIUsage,
  openAIUsage,
  type ReckonSummary,
  type ResponseIds,
  reckonSummary,
} from "./responses.js";
import { SseStream } from "./stream.js";
import type { ServerVerifiers } from "./verifiers.js";

declare module "hono" {
  interface ContextVariableMap {
    /** Set on a streamed answer: its request is counted when the stream ends, not when it begins. */
    eventStream: boolean;
  }
}

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
  /** Aborted when the server stops draining. */
  shutdown: AbortSignal;
  /**
   * Counts a request as in flight until the returned function is called (shutdown drains
   * them); `cancel` is called if it is still running when the server stops draining.
   */
  track(cancel: () => void): () => void;
}

/** One request, translated into the chat route's shape by its front end. */
export interface AnswerRequest {
  /** Which kind of upstream call answers it, and how the prompt is shaped. */
  endpoint: Endpoint;
  body: ChatBody | CompletionBody;
  caller: Caller;
  /** The answer's id, in its API's format (`chatcmpl-…`, `resp_…`, `msg_…`). */
  id: string;
  /** The route, as metrics label it (`/v1/responses`). */
  route: string;
  /** The API's name in the dashboard's live view. */
  api: string;
  /** The client's name for the token limit of one sample, when it is not `max_tokens`. */
  maxTokensParam?: string;
  /** The request's context: its disconnect signal, and where the access log reads how it ended. */
  context: Context;
}

/** The strategy's answer, in the terms every front end renders from. */
export interface Answer {
  result: Result;
  /** The candidate whose text answers (its finish reason, stop string, logprobs). */
  chosen: Candidate | undefined;
  text: string;
  reasoning: string | undefined;
  /** Every token spent, as the client is billed for them (cached prompt tokens included). */
  usage: OpenAIUsage;
  reckon: ReckonSummary;
  /** The `server-timing` header: the whole request, and its upstream part. */
  serverTiming: string;
}

/** Where a streamed answer goes, in the front end's events. */
export interface AnswerStream {
  /** A piece of the answer's thinking; all of them come before the end. */
  reasoning(piece: string): void;
  /** A piece of the answer's text; together the pieces are the answer's text. */
  text(piece: string, logprobs?: readonly TokenLogprob[]): void;
  /** The strategy has answered: every piece has been given. */
  end(answer: Answer): void;
  /** The request failed after the stream began (the client is still there to be told). */
  fail(failure: HttpError): void;
}

export interface PreparedAnswer {
  ids: ResponseIds;
  sampling: SamplingOptions;
  /** Admits the request, runs its strategy and resolves to its answer; rejects with what the client is told. */
  answer(): Promise<Answer>;
  /**
   * Admits the request (a 429 is thrown before any byte is sent), opens the event stream and
   * runs the strategy behind it: `open` writes the stream's first events and says where the
   * answer's pieces go; the stream closes after `end` or `fail`.
   */
  stream(open: (sse: SseStream) => AnswerStream): Response;
}

/**
 * Checks a request before anything is spent: strategy, options, sampling, task, verifier,
 * model and prompt. Nothing is admitted or counted until `answer()` or `stream()`.
 */
export async function prepareAnswer(deps: RouteDeps, request: AnswerRequest): Promise<PreparedAnswer> {
  const { config, source } = deps;
  const { body, endpoint } = request;
  const selection = selectStrategy(body.model, body.reckon, config);
  refuseUnhonoured(body, selection.strategy.name);
  const sampling = samplingOf(body, config, request.maxTokensParam);
  const taskName = selection.task ?? config.task ?? source.defaultTask;
  let task: Task;
  let verifier: Verifier | undefined;
  try {
    task = getTask(taskName);
    // Only a name the server offers: a client never gives a verifier's address.
    const verifierSpec = deps.verifiers.specFor(selection.verifier);
    if (selection.strategy.needsVerifier) {
      if (!verifierSpec)
        throw invalidRequest(`strategy "${selection.strategy.name}" needs a verifier`, "reckon.verifier");
      verifier = await deps.verifiers.resolve(verifierSpec, taskName);
    }
  } catch (error) {
    // Fields named in the request's words.
    throw deps.present(error, requestParam);
  }
  const backend = await source.backendFor(selection.model, endpoint);
  const prompt = promptFor(endpoint, body, backend.capabilities.chat, task);
  const ids: ResponseIds = { id: request.id, created: Math.floor(Date.now() / 1000), model: body.model };
  const stream = body.stream === true;

  /** Admits the request and starts its clock; everything after this ends in `finish`. */
  const begin = () => {
    const { admission, budget } = admit(deps, request.caller, selection.budget, prompt);
    const started = performance.now();
    const live = deps.live.start({
      id: ids.id,
      endpoint: request.api,
      model: body.model,
      strategy: selection.strategy.name,
      caller: request.caller.name,
      stream,
    });
    // One signal cancels all of the request's upstream work, aborted directly by each cause
    // (the client leaving, a cancelled stream, shutdown, the time limit): a signal per cause
    // joined with AbortSignal.any costs more than the rest of a fast request.
    const cancel = new AbortController();
    const { signal } = cancel;
    const stop = () => cancel.abort();
    const untrack = deps.track(stop);
    const stopWatching = watchDisconnect(request.context, stop);
    let overtime = false;
    // A timer cleared when the request ends: AbortSignal.timeout would keep one per request
    // alive for the whole limit, hundreds of thousands of them under load.
    const overtimer = setTimeout(() => {
      overtime = true;
      stop();
    }, config.limits.maxRequestMs);
    overtimer.unref();
    const failureOf = (error: unknown) =>
      deps.present(overtime ? requestTimedOut(config) : error, requestParam);
    // Kept only when the client asked for them (`reckon.trace`); a stream shows them as it goes.
    const events: TraceEvent[] | undefined = selection.trace ? [] : undefined;
    // What the strategy spent, so far when it fails or is cancelled (for the access log).
    const spent = config.accessLog ? new Meter() : undefined;
    let finished = false;
    const finish = (status: number, result?: Result, error?: HttpError) => {
      if (finished) return;
      finished = true;
      clearTimeout(overtimer);
      stopWatching();
      // For the access log, which alone reads it.
      if (config.accessLog)
        recordCompletion(request.context, {
          id: ids.id,
          model: body.model,
          strategy: selection.strategy.name,
          stream,
          status,
          usage: result?.usage ?? spent?.usage,
          ...(error ? { error: error.code ?? error.type } : {}),
          prompt,
          ...(result ? { answer: chosenCandidate(result)?.text ?? "" } : {}),
        });
      // Plain responses are counted by the app's middleware; a stream only ends here.
      if (stream) deps.metrics.request(request.route, status, (performance.now() - started) / 1000);
      if (result) deps.metrics.strategyRun(result.strategy, result.stopReason, result.usage);
      // The key is charged what `usage` reports to the client: cached prompt tokens included.
      admission.release(result ? billedTokens(result) : 0);
      deps.live.end(live, status, result, error?.message);
      untrack();
    };
    /** The status a failure is counted with: a client that went away is 499, whatever the error. */
    const failedStatus = (failure: HttpError) =>
      signal.aborted && failure.status === clientClosedStatus ? clientClosedStatus : failure.status;
    const clientGone = () => signal.aborted && !deps.shutdown.aborted && !overtime;

    const runStrategy = (
      onTrace?: (event: TraceEvent) => void,
      onAnswerToken?: (event: TokenEvent) => void,
    ) =>
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
            spent,
          }),
        ],
        // Without a reader, no sink: the strategy's events are then not even built.
        trace: traceSink(events, onTrace),
      });

    const answerOf = (result: Result): Answer => {
      const chosen = chosenCandidate(result);
      return {
        result,
        chosen,
        text: chosen?.text ?? "",
        reasoning: chosen?.reasoning,
        usage: openAIUsage(result),
        reckon: billedSummary(reckonSummary(result, selection.options, budget, events), result),
        serverTiming: `total;dur=${(performance.now() - started).toFixed(2)}, upstream;dur=${result.usage.latencyMs.toFixed(2)}`,
      };
    };
    return { cancel, finish, failureOf, failedStatus, clientGone, runStrategy, answerOf };
  };

  return {
    ids,
    sampling,
    // Not an async function: the request waits in the strategy's frames, not in one of its own.
    answer() {
      let work: ReturnType<typeof begin>;
      try {
        work = begin();
      } catch (error) {
        return Promise.reject(error);
      }
      return work
        .runStrategy()
        .then((result) => {
          const answer = work.answerOf(result);
          work.finish(200, result);
          return answer;
        })
        .catch((error: unknown) => {
          const failure = work.failureOf(error);
          work.finish(work.failedStatus(failure), undefined, failure);
          throw failure;
        });
    },
    stream(open) {
      const work = begin();
      // Counted by `finish` from here on, when the stream ends.
      request.context.set("eventStream", true);
      let sse: SseStream | undefined;
      let to: AnswerStream;
      try {
        sse = new SseStream(() => work.cancel.abort(), nodeResponse(request.context));
        to = open(sse);
      } catch (error) {
        sse?.close();
        const failure = work.failureOf(error);
        work.finish(failure.status, undefined, failure);
        throw failure;
      }
      // Text a strategy streams as it is decoded (single) goes out at once; the rest of the
      // answer goes out the moment the strategy has decided.
      let streamed = "";
      let streamedReasoning = false;
      const onAnswerToken = (event: TokenEvent) => {
        if (event.reasoning) {
          streamedReasoning = true;
          to.reasoning(event.reasoning);
        }
        if (event.text === "") return;
        streamed += event.text;
        to.text(event.text, event.logprobs);
      };
      void (async () => {
        let result: Result | undefined;
        try {
          result = await work.runStrategy(
            (event) => sse.comment(`reckon ${JSON.stringify(compactEvent(event))}`),
            onAnswerToken,
          );
          const answer = work.answerOf(result);
          if (!streamedReasoning && answer.reasoning) to.reasoning(answer.reasoning);
          const rest = answer.text.startsWith(streamed) ? answer.text.slice(streamed.length) : "";
          if (rest !== "") to.text(rest);
          to.end(answer);
          sse.close();
          work.finish(200, result);
        } catch (error) {
          const failure = work.failureOf(error);
          if (work.clientGone()) {
            sse.close();
            work.finish(clientClosedStatus, undefined, failure);
            return;
          }
          // A failure of the front end's own writing after the answer still ends the stream.
          if (!result) to.fail(failure);
          sse.close();
          work.finish(result ? 200 : failure.status, result, result ? undefined : failure);
        }
      })();
      return sse.response;
    },
  };
}

/**
 * An answer's JSON response with its `server-timing` header. Built directly, with its headers
 * as a plain object: the Node adapter writes those as they are, where `c.json` with a second
 * header would build a Headers object and convert it back for every response.
 */
export function answerResponse(body: unknown, answer: Answer): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json", "server-timing": answer.serverTiming },
  });
}

/**
 * Calls `gone` if the client goes away before its response is complete, until the returned
 * function is called. Under the Node adapter the response's `close` event says so, for the
 * price of one listener; the request's own AbortSignal, which the adapter would build for it,
 * costs several times that. Elsewhere (`app.fetch`), that signal.
 */
function watchDisconnect(c: Context, gone: () => void): () => void {
  const outgoing = nodeResponse(c);
  if (outgoing) {
    if (outgoing.closed) {
      if (!outgoing.writableFinished) gone();
      return () => {};
    }
    const onClose = () => {
      if (!outgoing.writableFinished) gone();
    };
    // `on`, not `once`: a response closes once, and `once` would wrap the listener in a bound
    // function and its state for every request.
    outgoing.on("close", onClose);
    return () => outgoing.removeListener("close", onClose);
  }
  const signal = c.req.raw.signal;
  if (signal.aborted) gone();
  else signal.addEventListener("abort", gone, { once: true });
  return () => signal.removeEventListener("abort", gone);
}

/** The Node response under the request, when the Node adapter serves it. */
function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse ? outgoing : undefined;
}

/** Where a run's trace events go: kept for the response, shown on a stream, both, or nowhere. */
function traceSink(
  kept: TraceEvent[] | undefined,
  onTrace: ((event: TraceEvent) => void) | undefined,
): TraceSink | undefined {
  if (!kept) return onTrace;
  if (!onTrace) return (event) => kept.push(event);
  return (event) => {
    kept.push(event);
    onTrace(event);
  };
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
