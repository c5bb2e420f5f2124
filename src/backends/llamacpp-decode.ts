import type { LlamaContextSequence, LlamaModel, Token, TokenBias } from "node-llama-cpp";
import type { FinishReason, TokenLogprob } from "../core/types.js";
import type { Lockstep } from "./llamacpp-lockstep.js";
import { IncrementalText, tokenPiece } from "./llamacpp-text.js";
import { type SampleThinking, thinkingTokens } from "./llamacpp-think.js";
import { partialStopLength } from "./stop-scanner.js";
import type { SplitPiece } from "./think-tags.js";

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
  /** The request's stop strings: a match ends the sample as "stop-sequence". */
  stop: readonly string[];
  /** A chat template's end-of-turn strings: a match is the model's end of sequence. */
  endOfTurn: readonly string[];
  /** Special tokens that end a turn (a chat template's end-of-turn markers). */
  stopTokens: ReadonlySet<Token>;
  /**
   * Generate to `maxTokens` whatever the model says: its end-of-text and end-of-turn tokens are
   * never sampled (this bias forbids them), and any other end-of-generation token is passed over.
   */
  ignoreEos?: TokenBias;
  /** Alternatives per token to report; undefined for no log-probabilities. */
  topLogprobs: number | undefined;
  /** Keeps the sequences of one context stepping together. */
  lockstep: Lockstep;
  /** Fixed position of this sequence within each batch. */
  order: number;
  signal?: AbortSignal;
  /**
   * Tells a reasoning model's inline thinking from its answer: the sample's `text` is then the
   * answer, its `reasoning` the thinking, and `reasoningTokens` the tokens that spelled it.
   * Stop strings are found in the text as decoded, thinking included, as a server finds them.
   */
  thinking?: SampleThinking;
  /**
   * Streams the text as it is decoded: each call carries the answer and thinking after the
   * previous call's and the tokens (and their logprobs) decoded since. Text that may be the
   * start of a stop string or of a think tag, or an incomplete character, waits until it is
   * settled; the pieces join to the final text and thinking.
   */
  onText?: (piece: SplitPiece, tokens: number, logprobs: TokenLogprob[]) => void;
}

export interface DecodedSample {
  text: string;
  reasoning?: string;
  reasoningTokens?: number;
  finishReason: FinishReason;
  stopSequence?: string;
  tokens: number;
  logprobs?: TokenLogprob[];
}

const safeLog = (p: number): number => (p > 0 ? Math.log(p) : Number.NEGATIVE_INFINITY);

/** The earliest stop string in `text` that ends at or after `from`, and where it starts. */
function findStop(
  text: string,
  stop: readonly string[],
  from: number,
): { at: number; stop: string } | undefined {
  let earliest: { at: number; stop: string } | undefined;
  for (const s of stop) {
    const at = text.indexOf(s, Math.max(0, from - s.length + 1));
    if (at >= 0 && (earliest === undefined || at < earliest.at)) earliest = { at, stop: s };
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
    token: tokenPiece(model, token),
    logprob: safeLog(probabilities?.get(token) ?? 0),
  };
  if (topLogprobs > 0) {
    entry.top = [];
    for (const [candidate, p] of probabilities ?? []) {
      if (entry.top.length >= topLogprobs) break;
      entry.top.push({ token: tokenPiece(model, candidate), logprob: safeLog(p) });
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
  const { model, sequence, sampler, maxTokens, stopTokens, topLogprobs, lockstep, signal, thinking } =
    request;
  const { ignoreEos } = request;
  const stop = ignoreEos ? [...request.stop] : [...request.stop, ...request.endOfTurn];
  const wantLogprobs = topLogprobs !== undefined;
  const generated: Token[] = [];
  const logprobs: TokenLogprob[] = [];
  // With stop strings or streaming the text is needed after every token: kept incrementally.
  const tracked = stop.length > 0 || request.onText ? new IncrementalText(model, request.context) : undefined;
  let text = "";
  let finishReason: FinishReason = "eos";
  // Streaming: how much of the text and of the tokens went out already.
  let sentChars = 0;
  let sentTokens = 0;
  const send = (upTo: number, final = false) => {
    if (!request.onText) return;
    const piece = text.slice(sentChars, Math.max(sentChars, upTo));
    // Tokens whose text is not settled yet go out with the text they become.
    if (piece === "" && !(final && generated.length > sentTokens)) return;
    const split = thinking ? thinking.push(piece) : { text: piece, reasoning: "" };
    const tokens = generated.length - sentTokens;
    if (split.text !== "" || split.reasoning !== "" || tokens > 0)
      request.onText(split, tokens, wantLogprobs ? logprobs.slice(sentTokens) : []);
    sentChars = Math.max(sentChars, upTo);
    sentTokens = generated.length;
  };
  /** The sample as returned: with thinking told apart, what the splitter held back streamed last. */
  const finished = (raw: string, rest: Omit<DecodedSample, "text">): DecodedSample => {
    if (!thinking) return { text: raw, ...rest };
    const split = thinking.finish(raw);
    if (request.onText && (split.rest.text !== "" || split.rest.reasoning !== ""))
      request.onText(split.rest, 0, []);
    return {
      text: split.text,
      ...(split.reasoning !== "" ? { reasoning: split.reasoning } : {}),
      ...(split.span
        ? { reasoningTokens: thinkingTokens(model, generated, request.context, split.span) }
        : {}),
      ...rest,
    };
  };
  const stream = sequence.evaluateWithMetadata(
    request.pending,
    { probabilities: wantLogprobs },
    {
      temperature: sampler.temperature,
      topK: sampler.topK,
      topP: sampler.topP,
      minP: sampler.minP,
      seed: sampler.seed,
      ...(ignoreEos ? { tokenBias: ignoreEos, yieldEogToken: true } : {}),
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
      if (!ignoreEos && stopTokens.has(token)) break;
      generated.push(token);
      if (wantLogprobs) logprobs.push(tokenLogprob(model, token, step.probabilities, topLogprobs));
      if (tracked) {
        // Only text past the settled part can hold a new stop string.
        const from = tracked.settledLength;
        text = tracked.push(token);
        const found = findStop(text, stop, from);
        if (found !== undefined) {
          const requested = request.stop.includes(found.stop);
          send(found.at, true);
          return finished(text.slice(0, found.at), {
            finishReason: requested ? "stop-sequence" : "eos",
            ...(requested ? { stopSequence: found.stop } : {}),
            tokens: generated.length,
            ...(wantLogprobs ? { logprobs } : {}),
          });
        }
      }
      if (request.onText && tracked) {
        // Held back: text later tokens may still change, and what may start a stop string.
        send(Math.min(tracked.settledLength, text.length - partialStopLength(text, stop)));
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
  // The streamed pieces join to the final text: both come from the same tracked text.
  text = tracked ? tracked.text : model.detokenize(generated, false, request.context);
  send(text.length, true);
  return finished(text, { finishReason, tokens: generated.length, ...(wantLogprobs ? { logprobs } : {}) });
}
