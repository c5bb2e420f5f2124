/** A progress bar for long bench runs, on stderr so that stdout stays machine-readable. */
import cliProgress from "cli-progress";
import type { BenchProgress } from "./runner.js";

export interface ProgressDisplay {
  update(progress: BenchProgress): void;
  stop(): void;
}

/** Whether to draw: never in CI, into a pipe or file, or when the user asked for quiet output. */
export function progressWanted(
  flags: { json?: boolean; quiet?: boolean },
  env: Record<string, string | undefined> = process.env,
  stream: { isTTY?: boolean } = process.stderr,
): boolean {
  return !flags.json && !flags.quiet && !env.CI && stream.isTTY === true;
}

const silent: ProgressDisplay = { update() {}, stop() {} };

export function createProgressDisplay(
  enabled: boolean,
  stream: NodeJS.WritableStream = process.stderr,
): ProgressDisplay {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        "bench {bar} {percentage}% | problems {problemsDone}/{problems} | samples {value}/{total} | {rate} tok/s | sample acc {accuracy} | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let started = false;
  return {
    update(p) {
      const payload = {
        problemsDone: p.problemsDone,
        problems: p.problems,
        rate: (p.newTokens / Math.max(0.001, (Date.now() - startedAt) / 1000)).toFixed(1),
        accuracy: p.sampleAccuracy.toFixed(3),
      };
      if (!started) {
        bar.start(p.samples, p.samplesDone, payload);
        started = true;
      } else bar.update(p.samplesDone, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
