/**
 * Token-level confidence for DeepConf (Fu et al. 2025, "Deep Think with Confidence"): how sure
 * the model was while writing a trace, from its per-token log-probabilities. Higher is more
 * confident everywhere in this module.
 */
import { z } from "zod";
import type { TokenLogprob } from "../core/types.js";

/**
 * `top-k`: DeepConf's token confidence, minus the mean log-probability of the k most likely
 * tokens (large when the distribution is peaked). `sampled`: the probability of the token that
 * was actually written (small where the model took an unlikely turn).
 */
export const tokenConfidenceSchema = z.enum(["top-k", "sampled"]);
export type TokenConfidenceKind = z.infer<typeof tokenConfidenceSchema>;

/** How one number summarises a trace: its weakest window, its last window, or its mean. */
export const traceConfidenceSchema = z.enum(["lowest-group", "tail", "mean"]);
export type TraceConfidenceKind = z.infer<typeof traceConfidenceSchema>;

export function tokenConfidence(token: TokenLogprob, kind: TokenConfidenceKind): number {
  if (kind === "sampled") return Math.exp(token.logprob);
  const top = token.top && token.top.length > 0 ? token.top : [token];
  const finite = top.map((t) => t.logprob).filter(Number.isFinite);
  if (finite.length === 0) return 0;
  return -finite.reduce((sum, l) => sum + l, 0) / finite.length;
}

/**
 * Mean confidence of every window of `window` consecutive tokens (a trace shorter than the
 * window is one group), computed with a running sum.
 */
export function groupConfidences(confidences: readonly number[], window: number): number[] {
  if (confidences.length === 0) return [];
  if (confidences.length <= window) return [mean(confidences)];
  const groups: number[] = [];
  let sum = 0;
  confidences.forEach((c, i) => {
    sum += c;
    if (i >= window) sum -= confidences[i - window]!;
    if (i >= window - 1) groups.push(sum / window);
  });
  return groups;
}

export function traceConfidence(
  confidences: readonly number[],
  window: number,
  kind: TraceConfidenceKind,
): number {
  if (confidences.length === 0) return 0;
  switch (kind) {
    case "mean":
      return mean(confidences);
    case "tail":
      return mean(confidences.slice(-window));
    case "lowest-group":
      return Math.min(...groupConfidences(confidences, window));
  }
}

/**
 * The confidence a trace must reach to be kept when the most confident `keep` share of the
 * given traces is kept: the (1 - keep) quantile, by linear interpolation.
 */
export function keepThreshold(confidences: readonly number[], keep: number): number {
  if (confidences.length === 0) return Number.NEGATIVE_INFINITY;
  const sorted = [...confidences].sort((a, b) => a - b);
  const position = (1 - keep) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
