/**
 * reckon as AI SDK middleware: test-time compute for any AI SDK model in one line.
 *
 *   const model = wrapLanguageModel({ model: openai("gpt-4o-mini"),
 *     middleware: reckonMiddleware({ strategy: "self-consistency", options: { n: 8 } }) });
 *
 * `doGenerate` (and `doStream`) then draw the strategy's samples through the wrapped model,
 * used as a reckon Backend, and answer with the chosen sample; usage counts every call, and
 * `providerMetadata.reckon` carries the votes or scores.
 */
import type {
  JSONValue,
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3Middleware,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import {
  type Backend,
  type GenerateRequest,
  type GenerateResponse,
  reportWholeSample,
} from "./core/backend.js";
import type { BudgetLimits } from "./core/budget.js";
import { AbortedError, ReckonError } from "./core/errors.js";
import type { Prices } from "./core/meter.js";
import { sampleSeed } from "./core/random.js";
import type { TraceSink } from "./core/trace.js";
import type { ChatMessage, Completion, Result, Task, Usage } from "./core/types.js";
import type { Verifier } from "./core/verifier.js";
import { run } from "./run.js";
import { getTask } from "./tasks/registry.js";

export interface ReckonMiddlewareOptions {
  /** A registered strategy, e.g. "self-consistency". */
  strategy: string;
  /** The strategy's options, e.g. `{ n: 8 }`. */
  options?: Record<string, unknown>;
  /** How answers are read and grouped: a task name ("math", "gsm8k") or a Task. Default "math". */
  task?: string | Task;
  verifier?: Verifier;
  budget?: BudgetLimits;
  prices?: Prices;
  trace?: TraceSink;
  /** Sees every Result (candidates, tally, usage), e.g. for logging. */
  onResult?: (result: Result) => void;
}

export function reckonMiddleware(settings: ReckonMiddlewareOptions): LanguageModelV3Middleware {
  return {
    specificationVersion: "v3",
    wrapGenerate: ({ params, model }) => answer(model, params, settings),
    async wrapStream({ params, model }) {
      // The answer exists only once the strategy has decided: it streams as one delta then.
      const generated = await answer(model, params, settings);
      const text = generated.content.map((part) => (part.type === "text" ? part.text : "")).join("");
      const parts: LanguageModelV3StreamPart[] = [
        { type: "stream-start", warnings: generated.warnings },
        ...(generated.response ? [{ type: "response-metadata" as const, ...generated.response }] : []),
        { type: "text-start", id: "0" },
        { type: "text-delta", id: "0", delta: text },
        { type: "text-end", id: "0" },
        {
          type: "finish",
          usage: generated.usage,
          finishReason: generated.finishReason,
          providerMetadata: generated.providerMetadata,
        },
      ];
      return {
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            for (const part of parts) controller.enqueue(part);
            controller.close();
          },
        }),
      };
    },
  };
}

async function answer(
  model: LanguageModelV3,
  params: LanguageModelV3CallOptions,
  settings: ReckonMiddlewareOptions,
): Promise<LanguageModelV3GenerateResult> {
  const task = typeof settings.task === "object" ? settings.task : getTask(settings.task ?? "math");
  const prompt = chatMessagesOf(params.prompt);
  const backend = languageModelBackend(model, params, prompt);
  const result = await run({
    problem: { id: "ai-sdk", prompt, task },
    backend,
    strategy: settings.strategy,
    options: settings.options,
    verifier: settings.verifier,
    sampling: {
      temperature: params.temperature,
      topP: params.topP,
      topK: params.topK,
      maxTokens: params.maxOutputTokens,
      stop: params.stopSequences,
      seed: params.seed,
    },
    budget: settings.budget,
    prices: settings.prices,
    signal: params.abortSignal,
    trace: settings.trace,
  });
  settings.onResult?.(result);
  const chosen = result.chosen === undefined ? undefined : result.candidates[result.chosen];
  const raw = chosen ? backend.rawOf(chosen.text) : undefined;
  if (!raw || !chosen)
    throw new ReckonError(
      `${result.strategy} drew no sample (stopped: ${result.stopReason})`,
      "raise the budget, or check the model",
    );
  const finishReason: LanguageModelV3FinishReason =
    chosen.finishReason === "length" ? { unified: "length", raw: "length" } : raw.finishReason;
  return {
    ...raw,
    content: [{ type: "text", text: chosen.text }],
    finishReason,
    usage: usageOf(result.usage),
    providerMetadata: {
      ...raw.providerMetadata,
      reckon: JSON.parse(
        JSON.stringify({
          strategy: result.strategy,
          answer: result.answer ?? null,
          stopReason: result.stopReason,
          tally: result.tally,
          candidates: result.candidates.map((c) => ({
            answer: c.answer ?? null,
            score: c.score,
            tokens: c.tokens,
          })),
          usage: result.usage,
        }),
      ) as Record<string, JSONValue>,
    },
  };
}

/** The prompt as reckon sees it (text only; files and tool parts stay in the model's own prompt). */
function chatMessagesOf(prompt: LanguageModelV3Prompt): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const message of prompt) {
    if (message.role === "system") messages.push({ role: "system", content: message.content });
    else if (message.role === "user" || message.role === "assistant")
      messages.push({
        role: message.role,
        content: message.content.map((part) => (part.type === "text" ? part.text : "")).join(""),
      });
  }
  return messages;
}

/** The wrapped model as a reckon Backend: one `doGenerate` per sample, in parallel. */
function languageModelBackend(
  model: LanguageModelV3,
  params: LanguageModelV3CallOptions,
  original: ChatMessage[],
): Backend & { rawOf(text: string): LanguageModelV3GenerateResult | undefined } {
  const raws = new Map<string, LanguageModelV3GenerateResult>();
  const promptFor = (request: GenerateRequest): LanguageModelV3Prompt => {
    // The caller's own prompt keeps its files and tool parts; a strategy's new prompt is text.
    const base =
      request.prompt === original || JSON.stringify(request.prompt) === JSON.stringify(original)
        ? params.prompt
        : toModelPrompt(request.prompt);
    return request.continuation
      ? [...base, { role: "assistant", content: [{ type: "text", text: request.continuation }] }]
      : base;
  };
  return {
    id: `ai-sdk:${model.provider}:${model.modelId}`,
    capabilities: {
      multipleSamples: true,
      logprobs: false,
      continuation: false,
      promptScoring: false,
      chat: true,
      streaming: false,
      stopSequences: false,
    },
    rawOf: (text) => raws.get(text),
    async generate(request: GenerateRequest): Promise<GenerateResponse> {
      const started = performance.now();
      const offset = request.sampleOffset ?? 0;
      const done: { completion: Completion; usage: LanguageModelV3Usage }[] = [];
      const calls = Array.from({ length: request.n }, async (_, i) => {
        const result = await model.doGenerate({
          ...params,
          prompt: promptFor(request),
          temperature: request.temperature,
          topP: request.topP,
          topK: request.topK,
          maxOutputTokens: request.maxTokens,
          stopSequences: request.stop,
          seed: request.seed === undefined ? undefined : sampleSeed(request.seed, offset + i),
          abortSignal: request.signal,
        });
        const text = result.content.map((part) => (part.type === "text" ? part.text : "")).join("");
        if (!raws.has(text)) raws.set(text, result);
        const completion: Completion = {
          text,
          finishReason: result.finishReason.unified === "length" ? "length" : "eos",
          tokens: result.usage.outputTokens.total ?? Math.ceil(text.length / 4),
        };
        done[i] = { completion, usage: result.usage };
        reportWholeSample(request, completion, i);
      });
      const settled = await Promise.allSettled(calls);
      const finished = done.filter((d) => d !== undefined);
      const response: GenerateResponse = {
        completions: finished.map((d) => d.completion),
        usage: sumUsage(finished, performance.now() - started),
      };
      const failure = settled.find((s) => s.status === "rejected");
      if (failure) {
        if (request.signal?.aborted) throw new AbortedError(response);
        throw (failure as PromiseRejectedResult).reason;
      }
      return response;
    },
  };
}

function toModelPrompt(prompt: string | ChatMessage[]): LanguageModelV3Prompt {
  const messages = typeof prompt === "string" ? [{ role: "user" as const, content: prompt }] : prompt;
  return messages.map((m) =>
    m.role === "system"
      ? { role: "system", content: m.content }
      : { role: m.role, content: [{ type: "text", text: m.content }] },
  );
}

function sumUsage(
  calls: { completion: Completion; usage: LanguageModelV3Usage }[],
  latencyMs: number,
): Usage {
  const usage: Usage = {
    promptTokens: 0,
    completionTokens: 0,
    calls: calls.length,
    latencyMs,
    estimated: false,
  };
  for (const { completion, usage: u } of calls) {
    const input = u.inputTokens.total;
    const cached = u.inputTokens.cacheRead ?? 0;
    if (input === undefined || u.outputTokens.total === undefined) usage.estimated = true;
    usage.promptTokens += (input ?? 0) - cached;
    if (cached > 0) usage.cachedPromptTokens = (usage.cachedPromptTokens ?? 0) + cached;
    usage.completionTokens += u.outputTokens.total ?? completion.tokens;
  }
  return usage;
}

/** reckon's usage in the AI SDK's shape; verifier tokens are reported in `raw`. */
function usageOf(usage: Usage): LanguageModelV3Usage {
  const cached = usage.cachedPromptTokens ?? 0;
  return {
    inputTokens: {
      total: usage.promptTokens + cached,
      noCache: usage.promptTokens,
      cacheRead: cached,
      cacheWrite: undefined,
    },
    outputTokens: { total: usage.completionTokens, text: usage.completionTokens, reasoning: undefined },
    raw: { calls: usage.calls, verifierTokens: usage.verifierTokens ?? 0, estimated: usage.estimated },
  };
}
