import { z } from "zod";
import type { ChatMessage, Completion, TokenLogprob, Usage } from "./types.js";

/** What a backend can do; strategies degrade gracefully (or refuse clearly) when one is missing. */
export interface BackendCapabilities {
  /** Several samples of one prompt from one call (native `n`, or parallel sequences). */
  multipleSamples: boolean;
  /** Per-token log-probabilities. */
  logprobs: boolean;
  /** Generation that continues a given partial answer (`GenerateRequest.continuation`). */
  continuation: boolean;
  /** Log-probabilities of given text without generating (`Backend.scorePrompt`). */
  promptScoring: boolean;
  /** Chat messages as prompt. */
  chat: boolean;
  /**
   * Honours `GenerateRequest.model`: answers with the model it names (an OpenAI-compatible
   * server's `model` field, a pool whose upstreams serve several). Absent: one model only.
   */
  modelChoice?: boolean;
  /**
   * Text reaches `onToken` as it is decoded. Without it a backend still calls `onToken`, once
   * per sample with its whole text as the sample finishes, so callers need no second path.
   */
  streaming: boolean;
  /**
   * A sample ended by one of the request's stop strings says so ("stop-sequence" and which
   * one), told apart from the model's end of text. Step-by-step search needs it.
   */
  stopSequences: boolean;
}

/**
 * Sampling settings: one schema for every layer. `run()` parses them once; backends and
 * middleware pass them on untouched.
 */
export const samplingOptionsSchema = z
  .object({
    temperature: z.number().min(0).optional(),
    topP: z.number().gt(0).max(1).optional(),
    topK: z.number().int().min(0).optional(),
    maxTokens: z.number().int().positive().optional(),
    stop: z.array(z.string().min(1)).max(16).optional(),
    /** Same seed, prompt and backend give the same samples where the engine allows it. */
    seed: z.number().int().nonnegative().optional(),
    logprobs: z.boolean().optional(),
    /** How many alternatives to return per token when `logprobs` is set. */
    topLogprobs: z.number().int().min(0).max(20).optional(),
    /**
     * Generate past the model's end of text, to `maxTokens` (vLLM's and llama.cpp's
     * `ignore_eos`): every sample does the same work, as a throughput measurement needs.
     */
    ignoreEos: z.boolean().optional(),
  })
  .strict();

export type SamplingOptions = z.output<typeof samplingOptionsSchema>;

/** A piece of one sample's text as it is decoded. */
export interface TokenEvent {
  /** The sample it belongs to, numbered within the request as `onSample` numbers them. */
  index: number;
  /** Text that follows what this sample's earlier events carried; together they are its text. */
  text: string;
  /**
   * Thinking of a reasoning model that follows this sample's earlier thinking; together the
   * pieces are its `reasoning`. `text` carries the answer's pieces only.
   */
  reasoning?: string;
  /** Decoded tokens this piece holds (0 when a piece is text released after a withheld stop prefix). */
  tokens: number;
  /** Each token's log-probability, when the request asked for logprobs and the engine streams them. */
  logprobs?: TokenLogprob[];
}

export interface GenerateRequest extends SamplingOptions {
  prompt: string | ChatMessage[];
  /** Text the answer already starts with; the completion continues it (not repeated in the output). */
  continuation?: string;
  /**
   * The model to answer with, by the name its server knows it by, when the backend declares
   * `capabilities.modelChoice` (mixture of agents); absent, the backend's own model.
   */
  model?: string;
  n: number;
  /**
   * Index of the first requested sample among all samples of this exact request, e.g. 12 when
   * a strategy asks for more after 12. Sample `sampleOffset + j` is seeded with
   * `sampleSeed(seed, sampleOffset + j)`, so a sample's seed depends on its index alone;
   * replaying backends serve recordings from there.
   */
  sampleOffset?: number;
  signal?: AbortSignal;
  /** Called as each sample finishes, before the whole call returns (first-finish, streaming). */
  onSample?: (completion: Completion, index: number) => void;
  /**
   * Called with each piece of text as it is decoded (see `BackendCapabilities.streaming`). The
   * pieces of sample i, joined, are its completion's text, also when the call is cancelled.
   */
  onToken?: (event: TokenEvent) => void;
}

export interface GenerateResponse {
  completions: Completion[];
  usage: Usage;
}

/** Per-token log-probabilities of `text` after `prompt`, and what computing them cost. */
export interface PromptScore {
  logprobs: number[];
  usage: Usage;
}

/**
 * Where tokens come from. One narrow interface that every engine implements.
 *
 * Cancellation: when `signal` aborts, `generate` rejects with an `AbortedError` whose
 * `partial` holds the completions finished so far and the partial ones (finish reason
 * "aborted"), with the usage of every token spent, so metering never loses work.
 */
export interface Backend {
  /** A short name for reports, e.g. `openai:gpt-4o-mini` or `llamacpp:reckon-tiny`. */
  readonly id: string;
  readonly capabilities: BackendCapabilities;
  /** Parameter count when known, to estimate FLOPs. */
  readonly parameterCount?: number;
  generate(request: GenerateRequest): Promise<GenerateResponse>;
  /** Only when `capabilities.promptScoring`. */
  scorePrompt?(request: {
    prompt: string | ChatMessage[];
    text: string;
    signal?: AbortSignal;
  }): Promise<PromptScore>;
  close?(): Promise<void>;
}

/**
 * Reports a finished sample for a backend that does not stream: its whole text to `onToken`,
 * then the sample to `onSample`. Streaming backends call `onSample` themselves.
 */
export function reportWholeSample(request: GenerateRequest, completion: Completion, index: number): void {
  if (request.onToken && (completion.text !== "" || completion.reasoning))
    request.onToken({
      index,
      text: completion.text,
      tokens: completion.tokens,
      ...(completion.reasoning ? { reasoning: completion.reasoning } : {}),
      ...(completion.logprobs ? { logprobs: completion.logprobs } : {}),
    });
  request.onSample?.(completion, index);
}

/** Adds behaviour around a backend (metering, budgets, caching) without the caller changing. */
export type BackendMiddleware = (next: Backend) => Backend;

/** Applies middleware outermost first: `wrapBackend(b, [a, c])` is `a(c(b))`. */
export function wrapBackend(backend: Backend, middleware: readonly BackendMiddleware[]): Backend {
  return middleware.reduceRight((inner, wrap) => wrap(inner), backend);
}

/** A backend that forwards everything to `next` except what `overrides` replaces. */
export function forwardBackend(next: Backend, overrides: Partial<Backend>): Backend {
  // Built field by field, and only what `overrides` leaves: a served request wraps its backend
  // in several layers, and each spread or bound method would be made for every request.
  const forwarded: { -readonly [K in keyof Backend]: Backend[K] } = {
    id: next.id,
    capabilities: next.capabilities,
    parameterCount: next.parameterCount,
    generate: overrides.generate ?? ((request) => next.generate(request)),
  };
  if (next.scorePrompt) forwarded.scorePrompt = (request) => next.scorePrompt!(request);
  if (next.close) forwarded.close = () => next.close!();
  return Object.assign(forwarded, overrides);
}
