/** The data that flows through one request: problem in, samples out, result back. */

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A task knows how to read an answer out of a model's text and how to judge it. */
export interface Task {
  readonly name: string;
  /** The final answer stated in a model's text, or undefined when none can be found. */
  extractAnswer(text: string): string | undefined;
  /** Whether two extracted answers mean the same thing (used to group votes). */
  equivalent(a: string, b: string): boolean;
  /** Whether an extracted answer matches the reference answer. */
  isCorrect(answer: string, reference: string): boolean;
}

export interface Problem {
  id: string;
  /** What is sent to the model: plain text (completion) or messages (chat). */
  prompt: string | ChatMessage[];
  /** The reference answer when known (benchmarks); never shown to the model. */
  reference?: string;
  task: Task;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

export type FinishReason = "stop" | "length" | "aborted" | "error";

export interface Completion {
  text: string;
  finishReason: FinishReason;
  /** Completion tokens of this sample. */
  tokens: number;
  logprobs?: TokenLogprob[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  calls: number;
  latencyMs: number;
  /** True when some token counts were estimated because the backend did not report them. */
  estimated: boolean;
  /** Estimated floating-point operations, when the model's parameter count is known. */
  flops?: number;
  /** Prompt tokens served from a cache (e.g. a reused KV prefix) instead of evaluated; not in `promptTokens`. */
  cachedPromptTokens?: number;
}

export const emptyUsage = (): Usage => ({
  promptTokens: 0,
  completionTokens: 0,
  calls: 0,
  latencyMs: 0,
  estimated: false,
});

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    calls: a.calls + b.calls,
    latencyMs: a.latencyMs + b.latencyMs,
    estimated: a.estimated || b.estimated,
  };
  if (a.flops !== undefined || b.flops !== undefined) sum.flops = (a.flops ?? 0) + (b.flops ?? 0);
  if (a.cachedPromptTokens !== undefined || b.cachedPromptTokens !== undefined)
    sum.cachedPromptTokens = (a.cachedPromptTokens ?? 0) + (b.cachedPromptTokens ?? 0);
  return sum;
}

/** One candidate solution as a strategy sees it. */
export interface Candidate {
  text: string;
  answer: string | undefined;
  tokens: number;
  finishReason: FinishReason;
  score?: number;
}

/** Votes (or summed scores) for one distinct answer. */
export interface AnswerTally {
  answer: string;
  count: number;
  /** Summed or best score, depending on the strategy. */
  score?: number;
}

export type StopReason = "completed" | "budget" | "aborted" | "early-stop";

export interface Result {
  answer: string | undefined;
  candidates: Candidate[];
  tally: AnswerTally[];
  usage: Usage;
  stopReason: StopReason;
  strategy: string;
}
