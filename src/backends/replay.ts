/**
 * A backend that serves recorded samples instead of calling a model: offline analysis of a
 * past run, and fast deterministic benchmarks of voting and verification strategies.
 */
import { basename } from "node:path";
import {
  type Backend,
  type GenerateRequest,
  type GenerateResponse,
  reportWholeSample,
} from "../core/backend.js";
import { BackendError, InvalidInputError, throwIfAborted } from "../core/errors.js";
import type { Candidate, ChatMessage, Completion, Problem, Usage } from "../core/types.js";
import type { Verifier, VerifierContext } from "../core/verifier.js";
import { type ReplayRow, type ReplaySample, readReplayFileSync } from "./replay-format.js";

/** Where the recorded samples come from: a replay file, or rows already in memory. */
export interface ReplayBackendOptions {
  path?: string;
  rows?: readonly ReplayRow[];
  /** Name in reports (default `replay:<file name>`). */
  id?: string;
}

/** The replay backend plus what it knows beyond text: recorded rewards. */
export interface ReplayBackend extends Backend {
  readonly rows: readonly ReplayRow[];
  /** Recorded reward of a replayed sample with this text (looked up under `prompt` first). */
  recordedReward(text: string, prompt?: string | ChatMessage[]): number | undefined;
  /** Recorded per-step rewards of a replayed sample with this text. */
  recordedStepRewards(text: string, prompt?: string | ChatMessage[]): number[] | undefined;
  /** A verifier returning recorded rewards, so `--verifier reward` works on replayed runs. */
  readonly rewardVerifier: Verifier;
  /** Recorded samples not yet served for this prompt. */
  remaining(prompt: string | ChatMessage[]): number;
  /** Rewinds every prompt's cursor to its first sample. */
  reset(): void;
}

/** The text a recorded row's prompt is compared with: the prompt, or the last user message. */
export function replayPromptText(prompt: string | ChatMessage[]): string {
  if (typeof prompt === "string") return prompt;
  for (let i = prompt.length - 1; i >= 0; i--) if (prompt[i]!.role === "user") return prompt[i]!.content;
  return "";
}

/** Token estimate for text a recording has no count for (about four characters a token). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

interface PromptEntry {
  ids: string[];
  samples: ReplaySample[];
  promptTokens?: number;
  byText: Map<string, ReplaySample>;
}

/**
 * Creates a replay backend. `generate` finds the row whose prompt equals the request's prompt
 * (chat: the last user message) and returns its next `n` recorded samples in order; each
 * prompt has its own cursor, and asking for more than remain is a BackendError. Rows with the
 * same prompt are served as one queue in file order. Sampling options (temperature, maxTokens,
 * stop, seed) are ignored: the samples are what was recorded. Usage comes from recorded token
 * counts, else is estimated from characters (`estimated: true`).
 */
export function createReplayBackend(options: ReplayBackendOptions): ReplayBackend {
  if (!options.path && !options.rows) {
    throw new InvalidInputError("replay", "needs a path or rows", "--backend replay:FILE.jsonl");
  }
  const rows = options.rows ?? readReplayFileSync(options.path!);
  const byPrompt = new Map<string, PromptEntry>();
  const byText = new Map<string, ReplaySample>();
  for (const row of rows) {
    const entry: PromptEntry = byPrompt.get(row.prompt) ?? { ids: [], samples: [], byText: new Map() };
    entry.ids.push(row.id);
    entry.samples.push(...row.samples);
    entry.promptTokens ??= row.prompt_tokens;
    for (const sample of row.samples) {
      if (!entry.byText.has(sample.text)) entry.byText.set(sample.text, sample);
      if (!byText.has(sample.text)) byText.set(sample.text, sample);
    }
    byPrompt.set(row.prompt, entry);
  }
  const cursors = new Map<string, number>();

  const findSample = (text: string, prompt?: string | ChatMessage[]): ReplaySample | undefined => {
    const scoped = prompt === undefined ? undefined : byPrompt.get(replayPromptText(prompt))?.byText;
    return scoped?.get(text) ?? byText.get(text) ?? scoped?.get(text.trim()) ?? byText.get(text.trim());
  };

  const backend: ReplayBackend = {
    id: options.id ?? `replay:${options.path ? basename(options.path) : "memory"}`,
    capabilities: {
      multipleSamples: true,
      logprobs: false,
      continuation: false,
      promptScoring: false,
      chat: true,
      streaming: false,
      stopSequences: false,
    },
    rows,

    async generate(request: GenerateRequest): Promise<GenerateResponse> {
      throwIfAborted(request.signal);
      const started = performance.now();
      if (request.continuation !== undefined) {
        throw new BackendError(
          "the replay backend cannot continue a partial answer",
          undefined,
          "use a strategy that samples whole solutions",
        );
      }
      const promptText = replayPromptText(request.prompt);
      const entry = byPrompt.get(promptText);
      if (!entry) {
        const snippet = promptText.length > 80 ? `${promptText.slice(0, 80)}…` : promptText;
        throw new BackendError(
          `no recorded samples for the prompt ${JSON.stringify(snippet)}`,
          undefined,
          "replayed prompts must equal the recorded ones exactly (same dataset and prompt template)",
        );
      }
      // An explicit offset (a resumed benchmark) wins over the cursor of this process.
      const cursor = request.sampleOffset ?? cursors.get(promptText) ?? 0;
      if (cursor + request.n > entry.samples.length) {
        throw new BackendError(
          `asked for ${request.n} samples of ${entry.ids.join(", ")} but only ${entry.samples.length - cursor} of ${entry.samples.length} recorded remain`,
          undefined,
          "record more samples per problem or lower the budget",
        );
      }
      const served = entry.samples.slice(cursor, cursor + request.n);
      cursors.set(promptText, cursor + request.n);
      const completions: Completion[] = served.map((sample) => ({
        text: sample.text,
        ...(sample.reasoning === undefined ? {} : { reasoning: sample.reasoning }),
        finishReason: sample.finish_reason ?? "eos",
        tokens: sample.tokens ?? estimateTokens(sample.text) + estimateTokens(sample.reasoning ?? ""),
        ...(sample.reasoning_tokens === undefined ? {} : { reasoningTokens: sample.reasoning_tokens }),
      }));
      const thought = completions.filter((c) => c.reasoningTokens !== undefined);
      const usage: Usage = {
        promptTokens: entry.promptTokens ?? estimateTokens(promptText),
        completionTokens: completions.reduce((sum, c) => sum + c.tokens, 0),
        ...(thought.length > 0
          ? { reasoningTokens: thought.reduce((sum, c) => sum + c.reasoningTokens!, 0) }
          : {}),
        calls: 1,
        latencyMs: performance.now() - started,
        estimated: entry.promptTokens === undefined || served.some((s) => s.tokens === undefined),
      };
      for (const [i, completion] of completions.entries()) reportWholeSample(request, completion, i);
      return { completions, usage };
    },

    recordedReward: (text, prompt) => findSample(text, prompt)?.reward,
    recordedStepRewards: (text, prompt) => findSample(text, prompt)?.step_rewards,

    rewardVerifier: {
      name: "reward",
      async score(
        problem: Problem,
        candidates: readonly Candidate[],
        ctx: VerifierContext,
      ): Promise<number[]> {
        throwIfAborted(ctx.signal);
        return candidates.map((candidate, i) => {
          const reward = findSample(candidate.text, problem.prompt)?.reward;
          if (reward === undefined) {
            throw new InvalidInputError(
              "verifier",
              `no recorded reward for candidate ${i} of problem ${problem.id}`,
              "the replay file must hold a reward for every sample, or choose another verifier",
            );
          }
          return reward;
        });
      },
    },

    remaining(prompt) {
      const key = replayPromptText(prompt);
      const entry = byPrompt.get(key);
      return entry ? entry.samples.length - (cursors.get(key) ?? 0) : 0;
    },

    reset() {
      cursors.clear();
    },
  };
  return backend;
}

/** The recorded-reward verifier when `backend` replays recorded samples, else undefined. */
export function replayRewardVerifier(backend: Backend): Verifier | undefined {
  return "rewardVerifier" in backend ? (backend as ReplayBackend).rewardVerifier : undefined;
}
