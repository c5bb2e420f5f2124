/**
 * Progress of long runs, on stderr so that stdout stays machine-readable: a bar for a person at
 * a terminal, plain periodic lines for logs and pipes (where a bar would be noise, and silence
 * looks like a hang).
 */
import cliProgress from "cli-progress";
import type { BenchProgress } from "./runner.js";

export interface ProgressDisplay {
  update(progress: BenchProgress): void;
  stop(): void;
}

/** `bar` at a terminal, `lines` in CI and into a pipe or file, `off` for `--json` or `--quiet`. */
export type ProgressStyle = "bar" | "lines" | "off";

export function progressStyle(
  flags: { json?: boolean; quiet?: boolean },
  env: Record<string, string | undefined> = process.env,
  stream: { isTTY?: boolean } = process.stderr,
): ProgressStyle {
  if (flags.json || flags.quiet) return "off";
  return stream.isTTY === true && !env.CI ? "bar" : "lines";
}

/** A plain line at most every this often while nothing else is said, so a stall is visible. */
export const progressLineIntervalMs = 5000;

export interface ProgressLinesOptions<State> {
  stream?: NodeJS.WritableStream;
  /** The line for a state, without the newline; `elapsedMs` since the display was created. */
  format: (state: State, elapsedMs: number) => string;
  /**
   * Fraction done in [0, 1]: when given, a line is also written each time it passes another
   * tenth (left out where a tenth can be one sample, as in `ask`).
   */
  fraction?: (state: State) => number;
  intervalMs?: number;
  /** Whether to write the first state at once (a bench says it started; a short ask stays quiet). */
  announce?: boolean;
}

/**
 * Plain progress lines: one per tenth of the work done, and one every `intervalMs` in between
 * (even when nothing moved: a stalled server shows as time passing), never one per sample.
 */
export function createProgressLines<State>(options: ProgressLinesOptions<State>) {
  const stream = options.stream ?? process.stderr;
  const intervalMs = options.intervalMs ?? progressLineIntervalMs;
  const startedAt = Date.now();
  let latest: State | undefined;
  let lastTenth = -1;
  let lastWriteAt = startedAt;
  let announced = !options.announce;
  const write = (state: State) => {
    lastWriteAt = Date.now();
    stream.write(`${options.format(state, lastWriteAt - startedAt)}\n`);
  };
  const timer = setInterval(
    () => {
      if (latest !== undefined && Date.now() - lastWriteAt >= intervalMs) write(latest);
    },
    Math.min(1000, intervalMs),
  );
  // Progress must never keep a finished process alive.
  timer.unref();
  return {
    update(state: State): void {
      latest = state;
      const tenth = options.fraction
        ? Math.floor(10 * Math.min(1, Math.max(0, options.fraction(state))))
        : lastTenth;
      if (!announced || (tenth > lastTenth && lastTenth >= 0)) {
        announced = true;
        write(state);
      }
      lastTenth = Math.max(lastTenth, tenth);
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}

const silent: ProgressDisplay = { update() {}, stop() {} };

/** The progress display of a bench run (`true` / `false` stand for `bar` / `off`). */
export function createProgressDisplay(
  style: ProgressStyle | boolean,
  stream: NodeJS.WritableStream = process.stderr,
  intervalMs: number = progressLineIntervalMs,
): ProgressDisplay {
  const chosen = style === true ? "bar" : style === false ? "off" : style;
  if (chosen === "off") return silent;
  if (chosen === "lines") return benchLines(stream, intervalMs);
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        "{phase} {bar} {percentage}% | {detail} | {rate} tok/s | accuracy {accuracy} | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let phase: BenchProgress["phase"] | undefined;
  return {
    update(p) {
      const payload = {
        phase: p.phase === "results" ? "bench  " : "metrics",
        detail: detailOf(p),
        rate: tokenRate(p, Date.now() - startedAt),
        accuracy: p.accuracy.toFixed(3),
      };
      const [done, total] =
        p.phase === "results" ? [p.resultsDone, p.results] : [p.metricsDone ?? 0, p.problems];
      if (phase === undefined) bar.start(total, done, payload);
      else if (phase !== p.phase) {
        bar.setTotal(total);
        bar.update(done, payload);
      } else bar.update(done, payload);
      phase = p.phase;
    },
    stop() {
      if (phase !== undefined) bar.stop();
    },
  };
}

/** What the current phase has done: results while running, problems while computing figures. */
const detailOf = (p: BenchProgress) =>
  p.phase === "results"
    ? `problems ${p.problemsDone}/${p.problems} | results ${p.resultsDone}/${p.results}`
    : `coverage, pass@k and pool estimates: problems ${p.metricsDone ?? 0}/${p.problems}`;

const tokenRate = (p: BenchProgress, elapsedMs: number) =>
  (p.newTokens / Math.max(0.001, elapsedMs / 1000)).toFixed(1);

function benchLines(stream: NodeJS.WritableStream, intervalMs: number): ProgressDisplay {
  const fraction = (p: BenchProgress) =>
    p.phase === "results"
      ? p.results === 0
        ? 1
        : p.resultsDone / p.results
      : p.problems === 0
        ? 1
        : (p.metricsDone ?? 0) / p.problems;
  // Each phase counts its own tenths, and announces itself when it begins.
  const phases = new Map<BenchProgress["phase"], ReturnType<typeof createProgressLines<BenchProgress>>>();
  const linesOf = (phase: BenchProgress["phase"]) => {
    let lines = phases.get(phase);
    if (!lines) {
      for (const other of phases.values()) other.stop();
      lines = createProgressLines<BenchProgress>({
        stream,
        intervalMs,
        announce: true,
        fraction,
        format: (p, elapsedMs) =>
          `${p.phase === "results" ? "bench" : "metrics"}: ${Math.floor(100 * fraction(p))}% | ${detailOf(p)} | ${p.phase === "results" ? `${tokenRate(p, elapsedMs)} tok/s | ` : ""}accuracy ${p.accuracy.toFixed(3)} | ${Math.round(elapsedMs / 1000)} s`,
      });
      phases.set(phase, lines);
    }
    return lines;
  };
  return {
    update: (p) => linesOf(p.phase).update(p),
    stop: () => {
      for (const lines of phases.values()) lines.stop();
    },
  };
}
