import type { LlamaModel, Token } from "node-llama-cpp";

/** Context tokens handed to the detokenizer (node-llama-cpp reads the last 3 for spacing). */
const CONTEXT_TOKENS = 8;

const spacingProbe = "a , b . c ? d ! e 's f 're g ' h";
const cleaning = new WeakMap<LlamaModel, boolean>();

/**
 * Whether the model's detokenizer removes spaces by what follows them (llama.cpp's
 * `clean_spaces`, on for generic BPE vocabularies: " ." becomes "."). Probed once per model; a
 * vocabulary that does not give the probe back is treated as cleaning, the safe side.
 */
function cleansSpaces(model: LlamaModel): boolean {
  let cleans = cleaning.get(model);
  if (cleans === undefined) {
    cleans = model.detokenize(model.tokenize(spacingProbe, false), false) !== spacingProbe;
    cleaning.set(model, cleans);
  }
  return cleans;
}

/**
 * The text of a growing list of generated tokens, kept up to date a token at a time.
 *
 * Detokenizing the whole list after every token costs O(length) each time, O(length²) a sample.
 * llama.cpp's detokenizer concatenates token pieces, so only the open tokens (those after the
 * last settled one) are detokenized again, with the tokens before them as spacing context. A
 * token settles once its text can no longer change: not when it ends inside a multi-byte
 * character (U+FFFD), nor, for a detokenizer that cleans spaces, while a space is among the
 * last three characters (" 're" may still lose its space).
 */
export class IncrementalText {
  /** Text of all tokens pushed so far. */
  text = "";
  private readonly tokens: Token[] = [];
  /** Tokens whose text is final, and that text. */
  private settledTokens = 0;
  private settledText = "";
  private readonly cleansSpaces: boolean;

  constructor(
    private readonly model: LlamaModel,
    /** The tokens just before the first generated one (the prompt's end). */
    private readonly context: readonly Token[],
  ) {
    this.cleansSpaces = cleansSpaces(model);
  }

  /** Length of the start of `text` that later tokens cannot change. */
  get settledLength(): number {
    return this.settledText.length;
  }

  /** Adds a token and returns the whole text. */
  push(token: Token): string {
    this.tokens.push(token);
    const open = this.tokens.slice(this.settledTokens);
    const before =
      this.settledTokens === 0
        ? this.context
        : this.settledTokens >= CONTEXT_TOKENS
          ? this.tokens.slice(this.settledTokens - CONTEXT_TOKENS, this.settledTokens)
          : [...this.context, ...this.tokens.slice(0, this.settledTokens)].slice(-CONTEXT_TOKENS);
    const openText = this.model.detokenize(open, false, before as Token[]);
    this.text = this.settledText + openText;
    const settles = this.cleansSpaces ? !/[ \uFFFD]/.test(this.text.slice(-3)) : !openText.endsWith("\uFFFD");
    if (settles) {
      this.settledTokens = this.tokens.length;
      this.settledText = this.text;
    }
    return this.text;
  }
}

const pieceCache = new WeakMap<LlamaModel, Map<Token, string>>();

/** The text of one token on its own (for logprobs), remembered per model. */
export function tokenPiece(model: LlamaModel, token: Token): string {
  let pieces = pieceCache.get(model);
  if (pieces === undefined) {
    pieces = new Map();
    pieceCache.set(model, pieces);
  }
  let piece = pieces.get(token);
  if (piece === undefined) {
    piece = model.detokenize([token], false);
    pieces.set(token, piece);
  }
  return piece;
}
