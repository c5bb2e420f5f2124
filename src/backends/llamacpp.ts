import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  type ChatWrapper,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
  TokenBias,
} from "node-llama-cpp";
import { z } from "zod";
import {
  type Backend,
  type BackendCapabilities,
  type GenerateRequest,
  type GenerateResponse,
  samplingOptionsSchema,
} from "../core/backend.js";
import {
  AbortedError,
  BackendError,
  InvalidInputError,
  ReckonError,
  throwIfAborted,
} from "../core/errors.js";
import type { ChatMessage, Completion, TokenLogprob, Usage } from "../core/types.js";
import { parseOrThrow } from "../core/validate.js";
import { decodeSample } from "./llamacpp-decode.js";
import { Lockstep } from "./llamacpp-lockstep.js";
import { SequencePool } from "./llamacpp-pool.js";
import { canCopySequenceState, type PrefixLoad } from "./llamacpp-prefix.js";
import { chatTemplateOf, type PromptMode, preparePrompt } from "./llamacpp-prompt.js";
import { randomBaseSeed, samplerSettings } from "./llamacpp-sampling.js";
import { runSamples } from "./llamacpp-scheduler.js";
import { SampleThinking } from "./llamacpp-think.js";
import { opensThinking, type SplitPiece, type ThinkTags, thinkTagsOptionSchema } from "./think-tags.js";

export const llamaCppOptionsSchema = z
  .object({
    modelPath: z.string().min(1),
    /** `completion` feeds the prompt as raw text; `chat` renders messages with the model's template. Default: chat when the GGUF has a chat template. */
    mode: z.enum(["completion", "chat"]).optional(),
    /** Tokens per sequence. Default: the model's training context, at most 2048. */
    contextSize: z.number().int().min(8).optional(),
    /** Parallel sequences in the context: samples decoded in one batch. */
    sequences: z.number().int().min(1).max(256).default(16),
    /** Math threads. Default: all cores but one. */
    threads: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).optional(),
    /** How a shared prompt prefix is reused; `off` re-evaluates it for every sample. */
    prefixCache: z.enum(["copy", "sequence", "off"]).default("copy"),
    /**
     * How the KV cache holds the parallel sequences. `unified`: one cache, so a step of every
     * sequence is one pass over the weights, but each token's attention scans every sequence's
     * cells; `per-sequence`: a stream each, so attention stays within a sample, but llama.cpp
     * splits a step at every gap an ended sample leaves in the sequence ids, one more pass over
     * the weights each. `auto`: unified for models of 64 MiB or more, whose weights dominate a
     * step. Unified needs the addon `tools/build-engine.mjs` builds (`npm ci` installs it).
     */
    kvCache: z.enum(["auto", "unified", "per-sequence"]).default("auto"),
    /**
     * The tags between which a reasoning model writes its thinking (`<think>…</think>` by
     * default): a sample that opens with them, or continues a think block the prompt or the
     * partial answer left open, has that text as its `reasoning`, not its answer. `false` takes
     * the text as it comes. As the OpenAI backend's option of the same name.
     */
    thinkTags: thinkTagsOptionSchema,
  })
  .strict();

export type LlamaCppOptions = z.input<typeof llamaCppOptionsSchema>;

const chatMessageSchema = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() });

const generateRequestSchema = z.object({
  ...samplingOptionsSchema.shape,
  prompt: z.union([z.string(), z.array(chatMessageSchema).min(1)]),
  continuation: z.string().optional(),
  n: z.number().int().min(1),
  sampleOffset: z.number().int().min(0).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** Cumulative counts since the backend was created, to see where prompt KV state came from. */
export interface LlamaCppStats {
  calls: number;
  samples: number;
  promptTokensEvaluated: number;
  /** Prefix tokens found in a sequence's own cache. */
  promptTokensReused: number;
  /** Prefix tokens copied from a sibling sequence's KV cells. */
  promptTokensCopied: number;
  completionTokens: number;
}

/** Forbids the tokens that end a sample: the model's end of text and turn, a template's markers. */
function endTokensBias(model: LlamaModel, stopTokens: ReadonlySet<Token>): TokenBias {
  const bias = new TokenBias(model.tokenizer);
  for (const token of [model.tokens.eos, model.tokens.eot, ...stopTokens])
    if (token !== null) bias.set(token, "never");
  return bias;
}

export type KvCacheLayout = "unified" | "per-sequence";

/** Models at least this large get a unified KV cache under `kvCache: "auto"`. */
const unifiedFromBytes = 64 * 1024 * 1024;

/** Whether this node-llama-cpp addon lets a context choose a unified KV cache. */
export function kvCacheSelectable(llama: Llama): boolean {
  return llama.cmakeOptions.RECKON_KV_CACHE === "selectable";
}

async function kvCacheLayout(
  llama: Llama,
  option: "auto" | KvCacheLayout,
  modelPath: string,
): Promise<KvCacheLayout> {
  if (option === "per-sequence") return option;
  if (!kvCacheSelectable(llama)) {
    if (option === "auto") return "per-sequence";
    throw new InvalidInputError(
      "kvCache",
      "is unified, which node-llama-cpp's prebuilt addon cannot do",
      "run `node tools/build-engine.mjs` (npm ci does when g++ is installed), or use per-sequence",
    );
  }
  if (option === "unified") return option;
  return (await stat(modelPath)).size >= unifiedFromBytes ? "unified" : "per-sequence";
}

/**
 * The addon reads its KV layout from the environment when a context is constructed: contexts
 * are created one at a time, each with the variable set for it.
 */
let contextCreation: Promise<unknown> = Promise.resolve();
function createContextWithLayout<T>(layout: KvCacheLayout, create: () => Promise<T>): Promise<T> {
  const created = contextCreation.then(async () => {
    const before = process.env.RECKON_KV_UNIFIED;
    process.env.RECKON_KV_UNIFIED = layout === "unified" ? "1" : "0";
    try {
      return await create();
    } finally {
      if (before === undefined) delete process.env.RECKON_KV_UNIFIED;
      else process.env.RECKON_KV_UNIFIED = before;
    }
  });
  contextCreation = created.catch(() => undefined);
  return created;
}

let sharedLlama: Promise<Llama> | undefined;

/** One native llama.cpp instance per process: CPU only, never downloads or builds binaries. */
function llamaRuntime(): Promise<Llama> {
  sharedLlama ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error }).catch(
    (error: unknown) => {
      sharedLlama = undefined;
      throw new BackendError(
        `llama.cpp could not start: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
        "node-llama-cpp needs its prebuilt binary for this platform (@node-llama-cpp/<platform>)",
      );
    },
  );
  return sharedLlama;
}

async function assertGguf(modelPath: string): Promise<void> {
  const info = await stat(modelPath).catch(() => undefined);
  if (!info?.isFile())
    throw new InvalidInputError(
      "modelPath",
      `no model file at ${modelPath}`,
      "pass the path of a .gguf file",
    );
  const file = await open(modelPath, "r");
  try {
    const magic = Buffer.alloc(4);
    await file.read(magic, 0, 4, 0);
    if (magic.toString("latin1") !== "GGUF")
      throw new InvalidInputError(
        "modelPath",
        `${modelPath} is not a GGUF file`,
        "llama.cpp loads .gguf models only",
      );
  } finally {
    await file.close();
  }
}

export class LlamaCppBackend implements Backend {
  readonly id: string;
  readonly capabilities: BackendCapabilities;
  readonly parameterCount: number | undefined;
  private readonly pool: SequencePool;
  private readonly lockstep = new Lockstep();
  private requests = 0;
  private readonly totals: LlamaCppStats = {
    calls: 0,
    samples: 0,
    promptTokensEvaluated: 0,
    promptTokensReused: 0,
    promptTokensCopied: 0,
    completionTokens: 0,
  };

  constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
    readonly mode: PromptMode,
    readonly prefixCache: "copy" | "sequence" | "off",
    private readonly template: ChatWrapper | undefined,
    /** Inline thinking told from the answer by these tags; undefined: text as it comes. */
    readonly thinkTags: ThinkTags | undefined = undefined,
    /** How the context's KV cache holds the sequences (the `kvCache` option, resolved). */
    readonly kvCache: KvCacheLayout = "per-sequence",
  ) {
    this.id = `llamacpp:${basename(model.filename ?? "model").replace(/\.gguf$/i, "")}`;
    this.capabilities = {
      multipleSamples: true,
      logprobs: true,
      continuation: true,
      promptScoring: false,
      chat: mode === "chat",
      streaming: true,
      stopSequences: true,
    };
    const parameters = model.fileInsights.totalParameters;
    this.parameterCount = Number.isFinite(parameters) && parameters > 0 ? parameters : undefined;
    this.pool = new SequencePool(sequences);
  }

  /** Tokens each sequence can hold. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get sequenceCount(): number {
    return this.pool.size;
  }

  /** Sequences not leased to a running generate() call. */
  get idleSequences(): number {
    return this.pool.available;
  }

  /** Whether KV state can be copied between sequences with this node-llama-cpp build. */
  get kvCopySupported(): boolean {
    return this.pool.sequences[0] !== undefined && canCopySequenceState(this.pool.sequences[0]);
  }

  get stats(): LlamaCppStats {
    return { ...this.totals };
  }

  async generate(input: GenerateRequest): Promise<GenerateResponse> {
    const request = parseOrThrow(generateRequestSchema, input, "request");
    throwIfAborted(request.signal);
    const started = performance.now();
    const prompt = preparePrompt(this.model, this.mode, this.template, request.prompt, request.continuation);
    if (prompt.tokens.length === 0) throw new InvalidInputError("prompt", "is empty");
    const startThinking = this.continuesThinking(request.prompt, request.continuation, prompt.tokens);
    const room = this.contextSize - prompt.tokens.length - 1;
    if (room < 1)
      throw new InvalidInputError(
        "prompt",
        `${prompt.tokens.length} tokens leave no room to generate in a ${this.contextSize}-token context`,
        "shorten the prompt or create the backend with a larger contextSize",
      );
    const maxTokens = Math.min(request.maxTokens ?? room, room);
    const prefix = prompt.tokens.slice(0, -1);
    const last = prompt.tokens.slice(-1);
    const baseSeed = request.seed ?? randomBaseSeed();
    const offset = request.sampleOffset ?? 0;
    const topLogprobs = request.logprobs ? (request.topLogprobs ?? 0) : undefined;
    // Rows of a batch are ordered by request, then sample: CPU kernels round by row position.
    const batchOrder = (this.requests++ % 1_000_000) * 1_000_000;

    let result: Awaited<ReturnType<typeof runSamples<Completion>>>;
    try {
      result = await runSamples({
        n: request.n,
        pool: this.pool,
        prefix,
        mode: this.prefixCache,
        signal: request.signal,
        sample: async (sequence, index) => {
          const sample = await decodeSample({
            model: this.model,
            sequence,
            pending: [...last],
            context: prompt.tokens.slice(-8),
            sampler: samplerSettings(request, baseSeed, offset + index),
            maxTokens,
            stop: request.stop ?? [],
            endOfTurn: prompt.stopStrings,
            stopTokens: prompt.stopTokens,
            ...(request.ignoreEos ? { ignoreEos: endTokensBias(this.model, prompt.stopTokens) } : {}),
            topLogprobs,
            lockstep: this.lockstep,
            order: batchOrder + index,
            signal: request.signal,
            ...(this.thinkTags ? { thinking: new SampleThinking(this.thinkTags, startThinking) } : {}),
            ...(input.onToken
              ? {
                  onText: (piece: SplitPiece, tokens: number, logprobs: TokenLogprob[]) =>
                    input.onToken!({
                      index,
                      text: piece.text,
                      tokens,
                      ...(piece.reasoning !== "" ? { reasoning: piece.reasoning } : {}),
                      ...(logprobs.length > 0 ? { logprobs } : {}),
                    }),
                }
              : {}),
          });
          if (sample.finishReason !== "aborted") input.onSample?.(sample, index);
          return sample;
        },
      });
    } catch (error) {
      if (error instanceof ReckonError) throw error;
      if (request.signal?.aborted) throw new AbortedError();
      throw new BackendError(
        `llama.cpp generation failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const response = {
      completions: result.samples,
      usage: this.account(result.prefix, result.samples, started),
    };
    // Cancelled: what was generated, finished or cut off, goes back with the cancellation.
    if (result.aborted) throw new AbortedError(response);
    return response;
  }

  /**
   * Whether the samples continue a think block left open by what the model sees before them: a
   * text prompt and the partial answer, or the chat template's rendering (which may itself open
   * one for the answer).
   */
  private continuesThinking(
    prompt: string | readonly ChatMessage[],
    continuation: string | undefined,
    tokens: readonly Token[],
  ): boolean {
    if (!this.thinkTags) return false;
    const before =
      typeof prompt === "string" && this.mode === "completion"
        ? prompt + (continuation ?? "")
        : this.model.detokenize(tokens, true);
    return opensThinking(before, this.thinkTags);
  }

  private account(prefix: PrefixLoad, samples: Completion[], started: number): Usage {
    // Each sample evaluates the prompt's last token itself, to get the logits of its first token.
    const promptTokens = prefix.evaluated + samples.length;
    const completionTokens = samples.reduce((sum, sample) => sum + sample.tokens, 0);
    this.totals.calls += 1;
    this.totals.samples += samples.length;
    this.totals.promptTokensEvaluated += promptTokens;
    this.totals.promptTokensReused += prefix.reused;
    this.totals.promptTokensCopied += prefix.copied;
    this.totals.completionTokens += completionTokens;
    const thought = samples.filter((sample) => sample.reasoningTokens !== undefined);
    return {
      promptTokens,
      completionTokens,
      ...(thought.length > 0
        ? { reasoningTokens: thought.reduce((sum, sample) => sum + sample.reasoningTokens!, 0) }
        : {}),
      calls: 1,
      latencyMs: performance.now() - started,
      estimated: false,
      cachedPromptTokens: prefix.reused + prefix.copied,
    };
  }

  async close(): Promise<void> {
    if (!this.context.disposed) await this.context.dispose();
    if (!this.model.disposed) await this.model.dispose();
  }
}

/** Loads a GGUF once and prepares a context of parallel sequences. */
export async function createLlamaCppBackend(input: LlamaCppOptions): Promise<LlamaCppBackend> {
  const options = parseOrThrow(llamaCppOptionsSchema, input, "llamacpp options");
  await assertGguf(options.modelPath);
  const llama = await llamaRuntime();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: options.modelPath });
  } catch (error) {
    throw new BackendError(
      `could not load ${options.modelPath}: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      "check that the GGUF is complete and of an architecture this llama.cpp build supports",
    );
  }
  try {
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize || 2048, 2048);
    const kvCache = await kvCacheLayout(llama, options.kvCache, options.modelPath);
    const context = await createContextWithLayout(kvCache, () =>
      model.createContext({
        contextSize,
        sequences: options.sequences,
        // ggml's threads spin at barriers: when they outnumber free cores (other processes, the
        // JS thread) a token can take seconds instead of milliseconds, so one core is left free.
        threads: options.threads ?? Math.max(1, llama.cpuMathCores - 1),
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      }),
    );
    const sequences = Array.from({ length: options.sequences }, () => context.getSequence());
    const hasTemplate = typeof model.fileInfo.metadata?.tokenizer?.chat_template === "string";
    const mode: PromptMode = options.mode ?? (hasTemplate ? "chat" : "completion");
    const template = mode === "chat" ? chatTemplateOf(model) : undefined;
    const thinkTags = options.thinkTags === false ? undefined : options.thinkTags;
    return new LlamaCppBackend(
      model,
      context,
      sequences,
      mode,
      options.prefixCache,
      template,
      thinkTags,
      kvCache,
    );
  } catch (error) {
    await model.dispose();
    if (error instanceof ReckonError) throw error;
    throw new BackendError(
      `could not create a llama.cpp context: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      "try a smaller contextSize or fewer sequences",
    );
  }
}
