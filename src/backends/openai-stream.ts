/**
 * The choices of one streamed answer, assembled as its events arrive: text passed on piece by
 * piece, each choice reported the moment it ends, and stop strings found here when the server
 * cannot say which one ended a choice (llama.cpp's server says "stop" for a stop string and
 * for the end of text alike).
 */
import type { TokenEvent } from "../core/backend.js";
import type { TokenLogprob } from "../core/types.js";
import type { ParsedChoice, ParsedChunk, ParsedResponse } from "./openai-wire.js";
import { StopScanner } from "./stop-scanner.js";
import { splitThinking, ThinkSplitter, type ThinkTags } from "./think-tags.js";

interface ChoiceState {
  /** This choice's own usage, where a server reports one per choice (llama.cpp's server). */
  usage?: ParsedResponse["usage"];
  text: string;
  /** Thinking received apart from the answer, or told from it by think tags. */
  reasoning: string;
  splitter?: ThinkSplitter;
  logprobs: TokenLogprob[];
  /** Decoded tokens seen: logprob entries when sent, else one per event with text. */
  tokens: number;
  scanner?: StopScanner;
  finish?: Pick<ParsedChoice, "finishReason" | "stopSequence">;
}

export interface StreamedChoicesOptions {
  /** Choices the request asked for. */
  n: number;
  /** Stop strings to find here (the server was not sent them); empty when the server stops. */
  stops: readonly string[];
  wantLogprobs: boolean;
  /** Tags that mark inline thinking in the text; absent, the text is taken as it comes. */
  thinkTags?: ThinkTags;
  /** The answers continue an open think block (the prompt or the partial answer opened one). */
  startThinking?: boolean;
  onToken?: (event: TokenEvent) => void;
  /** A choice ended (by the server, or at a stop string found here). */
  onChoice?: (choice: ParsedChoice, index: number) => void;
}

export class StreamedChoices {
  private readonly choices: ChoiceState[];
  private usage: ParsedResponse["usage"];
  private reportsStopReason = false;

  constructor(private readonly options: StreamedChoicesOptions) {
    this.choices = Array.from({ length: options.n }, () => ({
      text: "",
      reasoning: "",
      logprobs: [],
      tokens: 0,
      ...(options.stops.length > 0 ? { scanner: new StopScanner(options.stops) } : {}),
      ...(options.thinkTags ? { splitter: new ThinkSplitter(options.thinkTags, options.startThinking) } : {}),
    }));
  }

  /** Takes one event; "enough" once every choice has ended here and the server need not go on. */
  consume(chunk: ParsedChunk): "more" | "enough" {
    if (chunk.reportsStopReason) this.reportsStopReason = true;
    // Usage with no choice is the whole answer's (OpenAI, vLLM); with one, that choice's own.
    if (chunk.usage && chunk.choices.length === 0) this.usage = chunk.usage;
    if (chunk.usage && chunk.choices.length === 1) {
      const owner = this.choices[chunk.choices[0]!.index];
      if (owner) owner.usage = chunk.usage;
    }
    for (const piece of chunk.choices) {
      const choice = this.choices[piece.index];
      if (!choice || choice.finish) continue;
      const tokens = piece.logprobs ? piece.logprobs.length : piece.text === "" && !piece.reasoning ? 0 : 1;
      choice.tokens += tokens;
      if (piece.logprobs) choice.logprobs.push(...piece.logprobs);
      let text = piece.text;
      let stoppedHere: string | undefined;
      if (choice.scanner) {
        const scanned = choice.scanner.push(text);
        text = scanned.release;
        stoppedHere = scanned.stop;
        if (stoppedHere === undefined && piece.finish) text += choice.scanner.flush();
      }
      let reasoning = piece.reasoning ?? "";
      if (choice.splitter) {
        const split = choice.splitter.push(text);
        const last = stoppedHere !== undefined || piece.finish ? choice.splitter.flush() : undefined;
        text = split.text + (last?.text ?? "");
        reasoning += split.reasoning + (last?.reasoning ?? "");
      }
      this.emit(piece.index, text, reasoning, tokens, piece.logprobs);
      if (stoppedHere !== undefined)
        this.end(piece.index, { finishReason: "stop-sequence", stopSequence: stoppedHere });
      else if (piece.finish) this.end(piece.index, piece.finish);
    }
    // Choices stopped here are still being written by the server: closing the stream ends them.
    const allEnded = this.choices.every((c) => c.finish);
    const stoppedHere = this.choices.some((c) => c.finish?.finishReason === "stop-sequence" && c.scanner);
    return allEnded && stoppedHere ? "enough" : "more";
  }

  /**
   * Everything received: ended choices as they ended, the others cut off ("aborted"). A choice
   * that an answer without a stream delivered whole (`whole`) is scanned for stop strings here.
   */
  response(): ParsedResponse {
    return {
      choices: this.choices.map((choice) => this.parsed(choice)),
      ...(this.total() ? { usage: this.total(), usageEstimated: this.usageEstimated } : {}),
      reportsStopReason: this.reportsStopReason,
    };
  }

  /**
   * The answer's usage: as reported for the whole, or summed over choices that each reported
   * their own (a choice cut off before its report adds the tokens counted here, and the sum is
   * then an estimate).
   */
  private total(): ParsedResponse["usage"] {
    if (this.usage) return this.usage;
    const reported = this.choices.filter((c) => c.usage);
    if (reported.length === 0) return undefined;
    const sum = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
    let reasoningTokens = 0;
    for (const choice of this.choices) {
      sum.promptTokens += choice.usage?.promptTokens ?? 0;
      sum.completionTokens += choice.usage?.completionTokens ?? choice.tokens;
      sum.cachedPromptTokens += choice.usage?.cachedPromptTokens ?? 0;
      reasoningTokens += choice.usage?.reasoningTokens ?? 0;
    }
    return reasoningTokens > 0 ? { ...sum, reasoningTokens } : sum;
  }

  /** Whether some choice ended without the server's count of its tokens. */
  get usageEstimated(): boolean {
    return this.usage === undefined && this.choices.some((c) => !c.usage);
  }

  /** Whether every choice has ended. */
  get complete(): boolean {
    return this.choices.every((c) => c.finish);
  }

  private parsed(choice: ChoiceState): ParsedChoice {
    return {
      text: choice.text,
      ...(choice.reasoning !== "" ? { reasoning: choice.reasoning } : {}),
      ...(choice.finish ?? { finishReason: "aborted" as const }),
      tokens: choice.usage?.completionTokens ?? choice.tokens,
      ...(this.options.wantLogprobs ? { logprobs: choice.logprobs } : {}),
    };
  }

  private emit(
    index: number,
    text: string,
    reasoning: string,
    tokens: number,
    logprobs: TokenLogprob[] | undefined,
  ): void {
    const choice = this.choices[index]!;
    choice.text += text;
    choice.reasoning += reasoning;
    if (text === "" && reasoning === "" && tokens === 0) return;
    this.options.onToken?.({
      index,
      text,
      tokens,
      ...(reasoning !== "" ? { reasoning } : {}),
      ...(logprobs?.length ? { logprobs } : {}),
    });
  }

  private end(index: number, finish: Pick<ParsedChoice, "finishReason" | "stopSequence">): void {
    const choice = this.choices[index]!;
    choice.finish = finish;
    this.options.onChoice?.(this.parsed(choice), index);
  }
}

/**
 * Applies stop strings to a whole answer, for a server that would not stream: the text is cut
 * at the first stop string and the choice marked as ended by it.
 */
export function applyStops(choice: ParsedChoice, stops: readonly string[]): ParsedChoice {
  if (stops.length === 0) return choice;
  const scanner = new StopScanner(stops);
  const { release, stop } = scanner.push(choice.text);
  if (stop === undefined) return choice;
  return { ...choice, text: release, finishReason: "stop-sequence", stopSequence: stop };
}

/**
 * A whole answer's inline thinking told from its answer (`tags`), added to any thinking the
 * server sent apart.
 */
export function applyThinkTags(
  choice: ParsedChoice,
  tags: ThinkTags | undefined,
  startThinking: boolean,
): ParsedChoice {
  if (!tags) return choice;
  const split = splitThinking(choice.text, tags, startThinking);
  // An answer without thinking comes back as it is, not copied.
  if (split.reasoning === "" && split.text === choice.text && choice.reasoning !== "") return choice;
  const reasoning = (choice.reasoning ?? "") + split.reasoning;
  const { reasoning: _, ...rest } = choice;
  return { ...rest, text: split.text, ...(reasoning !== "" ? { reasoning } : {}) };
}
