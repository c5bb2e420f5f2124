/**
 * A reckon Result in OpenAI's response shapes. The answer's text is the chosen candidate's;
 * `usage` counts every token spent upstream; the `reckon` field (ignored by OpenAI clients)
 * carries the candidates, the tally, the stop reason and the budget.
 */
import type { BudgetLimits } from "../core/budget.js";
import type { TraceEvent } from "../core/trace.js";
import type { Candidate, FinishReason, Result, TokenLogprob } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import type { Endpoint } from "./models.js";

/** The candidate whose text answers: the one the strategy's Result names (`chosen`). */
export function chosenCandidate(result: Result): Candidate | undefined {
  return result.chosen === undefined ? undefined : result.candidates[result.chosen];
}

export function openAIFinishReason(reason: FinishReason | undefined): "stop" | "length" {
  return reason === "length" ? "length" : "stop";
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  /** Of completion_tokens, those a reasoning model spent thinking, when the upstream said. */
  completion_tokens_details?: { reasoning_tokens: number };
  /** Tokens verifiers spent (reward models, judges): counted in total_tokens. */
  verifier_tokens: number;
}

/** OpenAI counts cached prompt tokens inside prompt_tokens; reckon keeps them apart. */
export function openAIUsage(result: Result): OpenAIUsage {
  const u = result.usage;
  const cached = u.cachedPromptTokens ?? 0;
  const verifier = u.verifierTokens ?? 0;
  return {
    prompt_tokens: u.promptTokens + cached,
    completion_tokens: u.completionTokens,
    total_tokens: totalTokens(u) + cached,
    prompt_tokens_details: { cached_tokens: cached },
    ...(u.reasoningTokens !== undefined
      ? { completion_tokens_details: { reasoning_tokens: u.reasoningTokens } }
      : {}),
    verifier_tokens: verifier,
  };
}

export interface ReckonSummary {
  strategy: string;
  options: Record<string, unknown>;
  answer: string | null;
  stop_reason: string;
  tally: { answer: string; count: number; score?: number }[];
  candidates: {
    text: string;
    /** A reasoning model's thinking, apart from the answer in `text`. */
    reasoning?: string;
    answer: string | null;
    score?: number;
    tokens: number;
    finish_reason: string;
  }[];
  usage: Result["usage"];
  budget: { limits: BudgetLimits; spent_tokens: number };
  detail?: Record<string, unknown>;
  trace?: TraceEvent[];
}

export function reckonSummary(
  result: Result,
  options: Record<string, unknown>,
  budget: BudgetLimits,
  trace?: TraceEvent[],
): ReckonSummary {
  return {
    strategy: result.strategy,
    options,
    answer: result.answer ?? null,
    stop_reason: result.stopReason,
    tally: result.tally.map((t) => ({
      answer: t.answer,
      count: t.count,
      ...(t.score !== undefined ? { score: t.score } : {}),
    })),
    candidates: result.candidates.map((c) => ({
      text: c.text,
      ...(c.reasoning !== undefined ? { reasoning: c.reasoning } : {}),
      answer: c.answer ?? null,
      ...(c.score !== undefined ? { score: c.score } : {}),
      tokens: c.tokens,
      finish_reason: c.finishReason,
    })),
    usage: result.usage,
    budget: { limits: budget, spent_tokens: totalTokens(result.usage) },
    ...(result.detail ? { detail: result.detail } : {}),
    ...(trace ? { trace } : {}),
  };
}

export interface ResponseIds {
  id: string;
  created: number;
  model: string;
}

export function completionResponse(
  endpoint: Endpoint,
  ids: ResponseIds,
  text: string,
  finish: "stop" | "length",
  usage: OpenAIUsage,
  reckon: ReckonSummary,
  logprobs: unknown = null,
  /** The answer's thinking, returned as `reasoning_content` (chat) as reasoning servers do. */
  reasoning?: string,
): Record<string, unknown> {
  const choice =
    endpoint === "chat"
      ? {
          index: 0,
          message: {
            role: "assistant",
            content: text,
            ...(reasoning ? { reasoning_content: reasoning } : {}),
            refusal: null,
          },
          logprobs,
          finish_reason: finish,
        }
      : { index: 0, text, logprobs, finish_reason: finish };
  return {
    id: ids.id,
    object: endpoint === "chat" ? "chat.completion" : "text_completion",
    created: ids.created,
    model: ids.model,
    choices: [choice],
    usage,
    reckon,
  };
}

/**
 * Token log-probabilities in the endpoint's wire shape (chat: `content` entries with
 * `top_logprobs`; completions: the legacy parallel arrays), or null when there are none.
 */
export function wireLogprobs(endpoint: Endpoint, logprobs: readonly TokenLogprob[] | undefined): unknown {
  if (!logprobs || logprobs.length === 0) return null;
  if (endpoint === "chat")
    return {
      content: logprobs.map((t) => ({
        token: t.token,
        logprob: t.logprob,
        bytes: null,
        top_logprobs: (t.top ?? []).map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: null })),
      })),
    };
  return {
    tokens: logprobs.map((t) => t.token),
    token_logprobs: logprobs.map((t) => t.logprob),
    top_logprobs: logprobs.map((t) =>
      Object.fromEntries((t.top ?? []).map((alt) => [alt.token, alt.logprob])),
    ),
  };
}

/**
 * One streamed chunk: a delta of text (or the role, or thinking as `reasoning_content`, which
 * the completions endpoint has no field for), or the end with its finish reason.
 */
export function chunk(
  endpoint: Endpoint,
  ids: ResponseIds,
  delta: { role?: "assistant"; content?: string; reasoning_content?: string },
  finish: "stop" | "length" | null,
  extra: Record<string, unknown> = {},
  logprobs: unknown = null,
): Record<string, unknown> {
  const choice =
    endpoint === "chat"
      ? { index: 0, delta, logprobs, finish_reason: finish }
      : { index: 0, text: delta.content ?? "", logprobs, finish_reason: finish };
  return {
    id: ids.id,
    object: endpoint === "chat" ? "chat.completion.chunk" : "text_completion",
    created: ids.created,
    model: ids.model,
    choices: [choice],
    ...extra,
  };
}

/** The usage chunk sent last when `stream_options.include_usage` is set: no choices. */
export function usageChunk(
  endpoint: Endpoint,
  ids: ResponseIds,
  usage: OpenAIUsage,
): Record<string, unknown> {
  return {
    id: ids.id,
    object: endpoint === "chat" ? "chat.completion.chunk" : "text_completion",
    created: ids.created,
    model: ids.model,
    choices: [],
    usage,
  };
}
