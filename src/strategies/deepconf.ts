import { z } from "zod";
import type { TokenEvent } from "../core/backend.js";
import { AbortedError, BudgetExhaustedError, InvalidInputError } from "../core/errors.js";
import { type Selection, voteAnswer } from "../core/selection.js";
import type { Candidate, Completion, Problem, StopReason, TokenLogprob } from "../core/types.js";
import { totalTokens } from "../core/types.js";
import {
  keepThreshold,
  tokenConfidence,
  tokenConfidenceSchema,
  traceConfidence,
  traceConfidenceSchema,
} from "./deepconf-confidence.js";
import { drawCandidates, toCandidate } from "./sampling.js";
import { defineStrategy, type StrategyContext } from "./strategy.js";

export const deepConfOptions = z
  .object({
    mode: z
      .enum(["online", "offline"])
      .default("online")
      .describe(
        "offline: filter and weight n finished traces; online: stop weak traces while they are written",
      ),
    n: z.number().int().min(1).max(4096).default(64).describe("traces at most"),
    warmup: z.number().int().min(1).default(8).describe("online: traces that fix the confidence threshold"),
    keep: z
      .number()
      .gt(0)
      .max(1)
      .default(0.9)
      .describe("share of the most confident traces kept (0.1: DeepConf-low)"),
    window: z.number().int().min(1).default(8).describe("tokens per confidence group"),
    confidence: tokenConfidenceSchema
      .default("top-k")
      .describe("token confidence: top-k (DeepConf) or sampled"),
    topLogprobs: z.number().int().min(1).max(20).default(5).describe("k of the top-k confidence"),
    traceScore: traceConfidenceSchema
      .default("lowest-group")
      .describe("offline: how a trace's confidence is summarised"),
    weighted: z.boolean().default(true).describe("weight votes by trace confidence"),
    consensus: z
      .number()
      .gt(0.5)
      .max(1)
      .default(0.95)
      .describe("online: stop when the leading answer holds this share of the weighted vote"),
    parallel: z.number().int().min(1).max(256).default(4).describe("online: traces written at once"),
  })
  .strict()
  .refine((o) => o.mode === "offline" || o.warmup <= o.n, { message: "warmup exceeds n", path: ["warmup"] });

type DeepConfOptions = z.output<typeof deepConfOptions>;

interface ScoredTrace {
  candidate: Candidate;
  confidence: number;
}

function requireLogprobs(ctx: StrategyContext): void {
  if (!ctx.backend.capabilities.logprobs)
    throw new InvalidInputError(
      "backend",
      `deepconf needs per-token log-probabilities and ${ctx.backend.id} does not return them`,
      "use a backend with logprobs (llamacpp, or an OpenAI-compatible server with logprobs enabled)",
    );
}

function confidencesOf(logprobs: readonly TokenLogprob[] | undefined, options: DeepConfOptions): number[] {
  const tokens = logprobs ?? [];
  if (options.confidence === "top-k" && tokens.some((t) => !t.top || t.top.length === 0))
    throw new InvalidInputError(
      "confidence",
      "the backend returned no top alternatives per token, which top-k confidence needs",
      'use confidence "sampled"',
    );
  return tokens.map((t) => tokenConfidence(t, options.confidence));
}

/** The vote of the kept traces; the most confident trace of the winning answer stands for it. */
function vote(problem: Problem, kept: readonly ScoredTrace[], weighted: boolean): Selection {
  const confidence = new Map(kept.map((t) => [t.candidate, t.confidence]));
  return voteAnswer(
    kept.map((t) => t.candidate),
    problem.task,
    {
      weight: (c) => (weighted ? (confidence.get(c) ?? 0) : 1),
      rank: (c) => confidence.get(c) ?? Number.NEGATIVE_INFINITY,
    },
  );
}

/**
 * DeepConf (Fu et al. 2025): confidence from per-token log-probabilities. Offline, draw n
 * traces, keep the most confident share and vote weighted by confidence. Online, a warm-up set
 * fixes the confidence threshold; each later trace is one streamed request, cancelled as soon
 * as a window of tokens falls below it, and sampling ends once the weighted vote agrees.
 */
export const deepConf = defineStrategy({
  name: "deepconf",
  description:
    "Confidence-filtered, confidence-weighted voting from token logprobs; online it stops weak traces early (needs logprobs).",
  options: deepConfOptions,
  needsVerifier: false,
  async run(problem, ctx, options) {
    requireLogprobs(ctx);
    const spentBefore = ctx.meter.usage;
    const withLogprobs: StrategyContext = {
      ...ctx,
      sampling: { ...ctx.sampling, logprobs: true, topLogprobs: options.topLogprobs },
    };
    const first = await drawCandidates(
      problem,
      withLogprobs,
      options.mode === "offline" ? options.n : options.warmup,
    );
    const scored = first.candidates.map((candidate) => ({
      candidate,
      confidence: traceConfidence(
        confidencesOf(candidate.logprobs, options),
        options.window,
        options.mode === "offline" ? options.traceScore : "lowest-group",
      ),
    }));
    const threshold = keepThreshold(
      scored.map((t) => t.confidence),
      options.keep,
    );
    const kept = scored.filter((t) => t.confidence >= threshold);
    let stopReason: StopReason = first.stopReason;
    let stoppedBecause = first.stopReason === "budget" ? "the budget ran out" : `drew ${options.n} traces`;
    let abandoned = 0;
    const all = [...scored.map((t) => t.candidate)];

    if (options.mode === "online" && first.stopReason === "completed") {
      const grown = await growTraces(problem, withLogprobs, options, threshold, kept, all);
      stopReason = grown.stopReason;
      stoppedBecause = grown.stoppedBecause;
      abandoned = grown.abandoned;
    }
    const { answer, tally, chosen } = vote(problem, kept, options.weighted);
    ctx.trace.emit({ kind: "voted", data: { tally, threshold } });
    const spent = ctx.meter.usage;
    return {
      answer,
      candidates: all,
      tally,
      stopReason,
      // Kept traces are the very candidates of `all`.
      chosen: chosen === undefined ? undefined : all.indexOf(kept[chosen]!.candidate),
      detail: {
        mode: options.mode,
        samples: all.length,
        kept: kept.length,
        abandoned,
        threshold,
        tokens: totalTokens(spent) - totalTokens(spentBefore),
        completionTokens: spent.completionTokens - spentBefore.completionTokens,
        stoppedBecause,
      },
    };
  },
});

/** The online phase: traces after the warm-up, `parallel` at a time, until consensus or n. */
async function growTraces(
  problem: Problem,
  ctx: StrategyContext,
  options: DeepConfOptions,
  threshold: number,
  kept: ScoredTrace[],
  all: Candidate[],
): Promise<{ stopReason: StopReason; stoppedBecause: string; abandoned: number }> {
  let abandoned = 0;
  const settled = (): number | undefined => {
    const { tally } = vote(problem, kept, true);
    const total = tally.reduce((sum, t) => sum + (t.score ?? 0), 0);
    const share = total > 0 ? (tally[0]?.score ?? 0) / total : 0;
    return share >= options.consensus ? share : undefined;
  };
  let started = all.length;
  while (started < options.n) {
    const share = settled();
    if (share !== undefined) {
      ctx.trace.emit({ kind: "stopped-early", text: "consensus", data: { share, samples: started } });
      return {
        stopReason: "early-stop",
        stoppedBecause: `consensus ${share.toFixed(3)} after ${started} traces`,
        abandoned,
      };
    }
    const batch = Math.min(options.parallel, options.n - started);
    started += batch;
    let outOfBudget = false;
    const traces = await Promise.all(
      Array.from({ length: batch }, () =>
        writeTrace(problem, ctx, options, threshold).catch((error: unknown) => {
          if (!(error instanceof BudgetExhaustedError)) throw error;
          outOfBudget = true;
          return undefined;
        }),
      ),
    );
    for (const trace of traces) {
      if (!trace) continue;
      all.push(trace.candidate);
      if (trace.abandoned) abandoned += 1;
      else kept.push(trace);
    }
    if (outOfBudget) return { stopReason: "budget", stoppedBecause: "the budget ran out", abandoned };
  }
  return { stopReason: "completed", stoppedBecause: `wrote ${options.n} traces`, abandoned };
}

/**
 * Writes one trace as one streamed request and abandons it the moment a window of tokens falls
 * below the threshold: the request is cancelled there, so no server needs to continue a
 * partial answer. (A backend that does not stream reports the trace whole: it is judged the
 * same way, only without the saving.)
 */
async function writeTrace(
  problem: Problem,
  ctx: StrategyContext,
  options: DeepConfOptions,
  threshold: number,
): Promise<ScoredTrace & { abandoned: boolean }> {
  const cancel = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, cancel.signal]) : cancel.signal;
  const confidences: number[] = [];
  let windowSum = 0;
  let lowest = Number.POSITIVE_INFINITY;
  const onToken = (event: TokenEvent) => {
    for (const token of event.logprobs ?? []) {
      if (cancel.signal.aborted) return;
      const confidence = tokenConfidence(token, options.confidence);
      confidences.push(confidence);
      windowSum += confidence;
      if (confidences.length > options.window)
        windowSum -= confidences[confidences.length - 1 - options.window]!;
      if (confidences.length >= options.window) lowest = Math.min(lowest, windowSum / options.window);
      if (lowest < threshold) cancel.abort();
    }
  };
  let completion: Completion;
  try {
    const response = await ctx.backend.generate({
      ...ctx.sampling,
      prompt: problem.prompt,
      n: 1,
      signal,
      onToken,
    });
    completion = response.completions[0]!;
  } catch (error) {
    if (!(error instanceof AbortedError && cancel.signal.aborted && !ctx.signal?.aborted)) throw error;
    completion = error.partial?.completions[0] ?? { text: "", finishReason: "aborted", tokens: 0 };
  }
  const all = confidencesOf(completion.logprobs, options);
  const confidence = cancel.signal.aborted
    ? lowest
    : traceConfidence(all, options.window, all.length < options.window ? "mean" : "lowest-group");
  const candidate = toCandidate(problem, completion);
  if (cancel.signal.aborted || confidence < threshold) {
    ctx.trace.emit({
      kind: "pruned",
      text: completion.text,
      tokens: completion.tokens,
      score: confidence,
      data: { threshold },
    });
    // An abandoned trace never votes, even if it happened to state an answer.
    return { candidate: { ...candidate, answer: undefined }, confidence, abandoned: true };
  }
  ctx.trace.emit({ kind: "sample", text: completion.text, tokens: completion.tokens, score: confidence });
  return { candidate, confidence, abandoned: false };
}
