/**
 * A reasoning model's inline thinking told from its answer in the embedded engine's samples,
 * as the OpenAI backend tells it in a server's text (`think-tags.ts`): the answer in `text`,
 * the thinking in `reasoning`, streamed apart, and the thinking's tokens counted from the
 * tokens the engine decoded.
 */
import type { LlamaModel, Token } from "node-llama-cpp";
import { type SplitPiece, ThinkSplitter, type ThinkTags, thinkingSpan } from "./think-tags.js";

/** A whole sample split: its answer, its thinking, and where the thinking ends in the raw text. */
export interface SplitSample {
  text: string;
  reasoning: string;
  /** Undefined when the sample did not think. */
  span: { end: number; closed: boolean } | undefined;
  /** What the last piece left held back (a possible tag, trailing whitespace), now released. */
  rest: SplitPiece;
}

/** One sample's raw text, split piece by piece as it is decoded. */
export class SampleThinking {
  private readonly splitter: ThinkSplitter;
  private raw = "";
  private text = "";
  private reasoning = "";

  constructor(
    private readonly tags: ThinkTags,
    /** The prompt or the partial answer left a think block open: the sample continues it. */
    private readonly startThinking: boolean,
  ) {
    this.splitter = new ThinkSplitter(tags, startThinking);
  }

  /** The next piece of raw text, as answer and thinking (a tag in the making is held back). */
  push(piece: string): SplitPiece {
    this.raw += piece;
    const split = this.splitter.push(piece);
    this.text += split.text;
    this.reasoning += split.reasoning;
    return split;
  }

  /** The sample ended with the raw text `whole` (what was pushed, and perhaps more). */
  finish(whole: string): SplitSample {
    const unsent = whole.startsWith(this.raw) ? this.push(whole.slice(this.raw.length)) : undefined;
    const last = this.splitter.flush();
    this.text += last.text;
    this.reasoning += last.reasoning;
    return {
      text: this.text,
      reasoning: this.reasoning,
      span: thinkingSpan(this.raw, this.tags, this.startThinking),
      rest: { text: (unsent?.text ?? "") + last.text, reasoning: (unsent?.reasoning ?? "") + last.reasoning },
    };
  }
}

/**
 * The fewest of `tokens` whose text (detokenized as the whole was, after `context`) reaches
 * `chars` characters: the tokens of the thinking part when `chars` is where it ends. A binary
 * search over prefixes, so only samples that think pay for it, a few detokenizations each.
 */
export function tokensSpelling(
  model: LlamaModel,
  tokens: readonly Token[],
  context: readonly Token[],
  chars: number,
): number {
  if (chars <= 0) return 0;
  let low = 1;
  let high = tokens.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (model.detokenize(tokens.slice(0, mid), false, context).length >= chars) high = mid;
    else low = mid + 1;
  }
  return high;
}

/** Of a sample's decoded tokens, those spent thinking: all of them when it never stopped thinking. */
export function thinkingTokens(
  model: LlamaModel,
  tokens: readonly Token[],
  context: readonly Token[],
  span: { end: number; closed: boolean },
): number {
  return span.closed ? tokensSpelling(model, tokens, context, span.end) : tokens.length;
}
