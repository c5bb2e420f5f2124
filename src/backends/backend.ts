import type { ChatMessage, Completion, Usage } from "../core/types.js";

/** What a backend can do; strategies degrade gracefully when a capability is missing. */
export interface BackendCapabilities {
  /** Several samples of one prompt from one call (native `n`, or parallel sequences). */
  multipleSamples: boolean;
  /** Per-token log-probabilities. */
  logprobs: boolean;
  /** Generation that continues a given partial answer (`GenerateRequest.continuation`). */
  prefixContinuation: boolean;
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
   * Position of the first requested sample among all samples drawn for this prompt, e.g. 12
   * when a resumed benchmark continues at sample 12. Backends that replay recordings serve
   * from there; sampling backends ignore it (the seed already tells draws apart).
   */
  sampleOffset?: number;
  signal?: AbortSignal;
}

export interface GenerateResponse {
  completions: Completion[];
  usage: Usage;
}

/** Where tokens come from. One narrow interface that every engine implements. */
export interface Backend {
  /** A short name for reports, e.g. `openai:gpt-4o-mini` or `llamacpp:reckon-tiny`. */
  readonly id: string;
  readonly capabilities: BackendCapabilities;
  /** Parameter count when known, to estimate FLOPs. */
  readonly parameterCount?: number;
  generate(request: GenerateRequest): Promise<GenerateResponse>;
  close?(): Promise<void>;
}
