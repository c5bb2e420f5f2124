/** Percentile bootstrap confidence intervals for a mean over problems. */
import { randomInt, seededRandom } from "../core/random.js";

/** A point estimate with its confidence interval. */
export interface Interval {
  mean: number;
  low: number;
  high: number;
}

/** Options of `bootstrapMeanInterval`. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  seed: number;
  /** Coverage of the interval (default 0.95). */
  confidence?: number;
}

/**
 * Mean of `values` with a percentile bootstrap interval: resample the problems with
 * replacement `resamples` times (seeded), take the mean of each resample, and report the
 * (1-confidence)/2 and (1+confidence)/2 quantiles of those means (linear interpolation).
 */
export function bootstrapMeanInterval(values: readonly number[], options: BootstrapOptions): Interval {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (resamples <= 0) return { mean, low: mean, high: mean };
  const random = seededRandom(options.seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[randomInt(random, n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const tail = (1 - confidence) / 2;
  return { mean, low: quantile(means, tail), high: quantile(means, 1 - tail) };
}

/** Quantile of sorted values with linear interpolation between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const fraction = position - below;
  return sorted[below]! + fraction * (sorted[above]! - sorted[below]!);
}
