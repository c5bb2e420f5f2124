import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { FinishReason, TokenLogprob } from "../core/types.js";

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

/**
 * Generates one sample on one sequence. Several of these running at once on sequences of one
 * context are decoded together: node-llama-cpp gathers the tokens that all sequences queue in
 * the same event-loop turn into one llama.cpp batch.
 */
export async function decodeSample(request: DecodeRequest): Promise<DecodedSample> {
  const { model, sequence, sampler, maxTokens, stop, stopTokens, topLogprobs, signal } = request;
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
  for await (const step of stream) {
    if (signal?.aborted) {
      finishReason = "aborted";
      break;
    }
    const token = step.token;
    if (stopTokens.has(token)) break;
    generated.push(token);
    if (wantLogprobs) {
      const probabilities = (step as { probabilities?: Map<Token, number> }).probabilities;
      const top: { token: string; logprob: number }[] = [];
      if (probabilities && topLogprobs > 0)
        for (const [candidate, p] of probabilities) {
          if (top.length >= topLogprobs) break;
          top.push({ token: model.detokenize([candidate], false), logprob: safeLog(p) });
        }
      logprobs.push({
        token: model.detokenize([token], false),
        logprob: safeLog(probabilities?.get(token) ?? 0),
        ...(topLogprobs > 0 ? { top } : {}),
      });
    }
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
  text = detokenize(generated);
  return { text, finishReason, tokens: generated.length, ...(wantLogprobs ? { logprobs } : {}) };
}
