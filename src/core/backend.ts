import type { ChatMessage, Completion, Usage } from "./types.js";

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
}

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  stop?: string[];
  /** Same seed, prompt and backend give the same samples where the engine allows it. */
  seed?: number;
  logprobs?: boolean;
  /** How many alternatives to return per token when `logprobs` is set. */
  topLogprobs?: number;
}

export interface GenerateRequest extends SamplingOptions {
  prompt: string | ChatMessage[];
  /** Text the answer already starts with; the completion continues it (not repeated in the output). */
  continuation?: string;
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

/** Adds behaviour around a backend (metering, budgets, caching) without the caller changing. */
export type BackendMiddleware = (next: Backend) => Backend;

/** Applies middleware outermost first: `wrapBackend(b, [a, c])` is `a(c(b))`. */
export function wrapBackend(backend: Backend, middleware: readonly BackendMiddleware[]): Backend {
  return middleware.reduceRight((inner, wrap) => wrap(inner), backend);
}

/** A backend that forwards everything to `next` except what `overrides` replaces. */
export function forwardBackend(next: Backend, overrides: Partial<Backend>): Backend {
  return {
    id: next.id,
    capabilities: next.capabilities,
    parameterCount: next.parameterCount,
    generate: (request) => next.generate(request),
    ...(next.scorePrompt ? { scorePrompt: next.scorePrompt.bind(next) } : {}),
    ...(next.close ? { close: next.close.bind(next) } : {}),
    ...overrides,
  };
}
