import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { FinishReason, TokenLogprob } from "../core/types.js";
import type { Lockstep } from "./llamacpp-lockstep.js";

/** What llama.cpp's sampler chain gets; top-k 0 means the whole vocabulary. */
export interface SamplerSettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
}

export interface DecodeRequest {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  /** Prompt tokens still to evaluate before the first new token (at least one). */
  pending: Token[];
  /** The tokens just before the generated text, for the detokenizer's spacing rules. */
  context: Token[];
  sampler: SamplerSettings;
  maxTokens: number;
  stop: readonly string[];
  /** Special tokens that end a turn (a chat template's end-of-turn markers). */
  stopTokens: ReadonlySet<Token>;
  /** Alternatives per token to report; undefined for no log-probabilities. */
  topLogprobs: number | undefined;
  /** Keeps the sequences of one context stepping together. */
  lockstep: Lockstep;
  /** Fixed position of this sequence within each batch. */
  order: number;
  signal?: AbortSignal;
}

export interface DecodedSample {
  text: string;
  finishReason: FinishReason;
  tokens: number;
  logprobs?: TokenLogprob[];
}

const safeLog = (p: number): number => (p > 0 ? Math.log(p) : Number.NEGATIVE_INFINITY);

/** The earliest stop string in `text` at or after `from`, as [index, length]. */
function findStop(text: string, stop: readonly string[], from: number): number | undefined {
  let earliest: number | undefined;
  for (const s of stop) {
    const index = text.indexOf(s, Math.max(0, from - s.length + 1));
    if (index >= 0 && (earliest === undefined || index < earliest)) earliest = index;
  }
  return earliest;
}

function tokenLogprob(
  model: LlamaModel,
  token: Token,
  probabilities: Map<Token, number> | undefined,
  topLogprobs: number,
): TokenLogprob {
  const entry: TokenLogprob = {
    token: model.detokenize([token], false),
    logprob: safeLog(probabilities?.get(token) ?? 0),
  };
  if (topLogprobs > 0) {
    entry.top = [];
    for (const [candidate, p] of probabilities ?? []) {
      if (entry.top.length >= topLogprobs) break;
      entry.top.push({ token: model.detokenize([candidate], false), logprob: safeLog(p) });
    }
  }
  return entry;
}

/**
 * Generates one sample on one sequence. Several of these running at once on sequences of one
 * context are decoded together: the lockstep releases them in the same event-loop turn, and
 * node-llama-cpp gathers the tokens queued in one turn into one llama.cpp batch.
 */
export async function decodeSample(request: DecodeRequest): Promise<DecodedSample> {
  const { model, sequence, sampler, maxTokens, stop, stopTokens, topLogprobs, lockstep, signal } = request;
  const wantLogprobs = topLogprobs !== undefined;
  const generated: Token[] = [];
  const logprobs: TokenLogprob[] = [];
  const detokenize = (tokens: Token[]) => model.detokenize(tokens, false, request.context);
  let text = "";
  let finishReason: FinishReason = "stop";
  const stream = sequence.evaluateWithMetadata(
    request.pending,
    { probabilities: wantLogprobs },
    {
      temperature: sampler.temperature,
      topK: sampler.topK,
      topP: sampler.topP,
      minP: sampler.minP,
      seed: sampler.seed,
    },
  );
  lockstep.join();
  try {
    for (;;) {
      await lockstep.ready(request.order);
      if (signal?.aborted) {
        finishReason = "aborted";
        break;
      }
      const next = await stream.next();
      if (next.done) break; // an end-of-generation token
      const step: { token: Token; probabilities?: Map<Token, number> } = next.value;
      const token = step.token;
      if (stopTokens.has(token)) break;
      generated.push(token);
      if (wantLogprobs) logprobs.push(tokenLogprob(model, token, step.probabilities, topLogprobs));
      if (stop.length > 0) {
        const before = text.length;
        text = detokenize(generated);
        const at = findStop(text, stop, before);
        if (at !== undefined) {
          text = text.slice(0, at);
          return {
            text,
            finishReason: "stop",
            tokens: generated.length,
            ...(wantLogprobs ? { logprobs } : {}),
          };
        }
      }
      if (generated.length >= maxTokens) {
        finishReason = "length";
        break;
      }
    }
  } finally {
    lockstep.leave();
    await stream.return();
  }
  text = detokenize(generated);
  return { text, finishReason, tokens: generated.length, ...(wantLogprobs ? { logprobs } : {}) };
}
