/** The data that flows through one request: problem in, samples out, result back. */

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A judgement of one answer: right or wrong, and why when the task can say (a failing test). */
export interface Grade {
  correct: boolean;
  detail?: string;
}

export interface GradeContext {
  signal?: AbortSignal;
}

/** A task knows how to read an answer out of a model's text and how to judge it. */
export interface Task {
  readonly name: string;
  /** The final answer stated in a model's text, or undefined when none can be found. */
  extractAnswer(text: string): string | undefined;
  /** Whether two extracted answers mean the same thing (used to group votes). */
  equivalent(a: string, b: string): boolean;
  /**
   * Optional: a canonical form of an answer such that `equivalent(a, b)` holds exactly when
   * `answerKey(a) === answerKey(b)`. It lets n answers be grouped in O(n), each normalised
   * once; without it, answers are compared pairwise with `equivalent`.
   */
  answerKey?(answer: string): string;
  /**
   * Whether an answer is right for this problem: against `problem.reference`, or by running
   * tests kept in `problem.meta`. Asynchronous because judging may run code.
   */
  grade(answer: string | undefined, problem: Problem, ctx?: GradeContext): Promise<Grade>;
  /**
   * Optional: turns a bare question into what the model is sent (e.g. asks for `\boxed{}`).
   * Default: the question unchanged (see `taskPrompt`).
   */
  prompt?(question: string): string;
  /**
   * Optional: where one reasoning step ends, for step search and process verifiers. Default
   * `"\n\n"`, a blank line (see `taskStepDelimiter`); the arithmetic task's steps are lines.
   */
  readonly stepDelimiter?: string;
}

/** What a task's questions are sent as: its own prompt, else the question unchanged. */
export const taskPrompt = (task: Task, question: string): string => task.prompt?.(question) ?? question;

/** Where a task's steps end: its own delimiter, else a blank line. */
export const taskStepDelimiter = (task: Task): string => task.stepDelimiter ?? "\n\n";

/** The synchronous comparison of tasks judged against a reference answer. */
export interface ReferenceComparison {
  readonly name: string;
  extractAnswer(text: string): string | undefined;
  equivalent(a: string, b: string): boolean;
  isCorrect(answer: string, reference: string): boolean;
}

/** A task that judges by comparing with the reference answer; keeps `isCorrect` for direct use. */
export function referenceTask<T extends ReferenceComparison>(comparison: T): T & Task {
  return {
    ...comparison,
    async grade(answer, problem) {
      return {
        correct:
          answer !== undefined &&
          problem.reference !== undefined &&
          comparison.isCorrect(answer, problem.reference),
      };
    },
  };
}

export interface Problem {
  id: string;
  /** What is sent to the model: plain text (completion) or messages (chat). */
  prompt: string | ChatMessage[];
  /** The reference answer when known (benchmarks); never shown to the model. */
  reference?: string;
  task: Task;
  /** What the task needs beyond the prompt (tests, entry point, level, subject), kept end to end. */
  meta?: Record<string, unknown>;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

/**
 * Why a completion ended: the model's end of sequence, one of the request's stop strings
 * (`stopSequence` says which), the token limit, or cancellation.
 */
export type FinishReason = "eos" | "stop-sequence" | "length" | "aborted";

export interface Completion {
  /** The answer. A reasoning model's thinking is never part of it: it is in `reasoning`. */
  text: string;
  /**
   * A reasoning model's thinking, when it thought: what the server sent apart
   * (`reasoning_content`) or what stood between think tags. Tasks, votes and verifiers read
   * `text` only.
   */
  reasoning?: string;
  finishReason: FinishReason;
  /** The stop string that ended it, when `finishReason` is "stop-sequence" and the engine says. */
  stopSequence?: string;
  /** Completion tokens of this sample, thinking included. */
  tokens: number;
  /** Of `tokens`, those spent thinking, when the engine counts them apart. */
  reasoningTokens?: number;
  logprobs?: TokenLogprob[];
}

export interface Usage {
  /** Prompt tokens evaluated by the generator. */
  promptTokens: number;
  /** Generated tokens, thinking included. */
  completionTokens: number;
  /** Of `completionTokens`, those a reasoning model spent thinking, when the engine reports them. */
  reasoningTokens?: number;
  /** Generator calls. */
  calls: number;
  latencyMs: number;
  /** True when some token counts were estimated because the backend did not report them. */
  estimated: boolean;
  /** Estimated floating-point operations, when the model's parameter count is known. */
  flops?: number;
  /** Prompt tokens served from a cache (e.g. a reused KV prefix) instead of evaluated; not in `promptTokens`. */
  cachedPromptTokens?: number;
  /** Tokens spent by verifiers (reward models, judges), prompt and completion together. */
  verifierTokens?: number;
  verifierCalls?: number;
  /** Money, when prices were given. */
  costUsd?: number;
}

export const emptyUsage = (): Usage => ({
  promptTokens: 0,
  completionTokens: 0,
  calls: 0,
  latencyMs: 0,
  estimated: false,
});

const optionalCounts = [
  "flops",
  "reasoningTokens",
  "cachedPromptTokens",
  "verifierTokens",
  "verifierCalls",
  "costUsd",
] as const;

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    calls: a.calls + b.calls,
    latencyMs: a.latencyMs + b.latencyMs,
    estimated: a.estimated || b.estimated,
  };
  for (const key of optionalCounts)
    if (a[key] !== undefined || b[key] !== undefined) sum[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return sum;
}

/** Generator tokens (prompt + completion) plus, when asked, what verifiers spent. */
export function totalTokens(usage: Usage, withVerifier = true): number {
  return usage.promptTokens + usage.completionTokens + (withVerifier ? (usage.verifierTokens ?? 0) : 0);
}

/** One candidate solution as a strategy sees it: a completion with its answer and score. */
export interface Candidate extends Completion {
  answer: string | undefined;
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

/** What a strategy decides; `run()` adds the usage of its scope and its name. */
export interface StrategyOutcome {
  answer: string | undefined;
  candidates: Candidate[];
  tally: AnswerTally[];
  stopReason: StopReason;
  /**
   * Index into `candidates` of the candidate whose text gives the answer (the proxy and the AI
   * SDK middleware answer with its text). Every strategy names it by its own rule (a vote's
   * representative, the latest revision, the aggregate, …); nobody downstream guesses. With no
   * answer stated it still names the text that stands for the outcome; undefined only when
   * there is no candidate.
   */
  chosen: number | undefined;
  /** Strategy-specific figures (samples used, depth reached, why it stopped). */
  detail?: Record<string, unknown>;
}

export interface Result extends StrategyOutcome {
  usage: Usage;
  strategy: string;
}
