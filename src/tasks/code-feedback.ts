/** A failed run told briefly, for a model to debug from: what failed, the exception, where. */
import type { SandboxResult } from "../sandbox/sandbox.js";

const maxFeedbackChars = 1_500;

interface PythonFrame {
  location: string;
  source?: string;
}

/** The last traceback in Python's stderr: its frames and the exception lines (notes included). */
function lastTraceback(stderr: string): { frames: PythonFrame[]; exception: string[] } | undefined {
  const start = stderr.lastIndexOf("Traceback (most recent call last):");
  // A syntax error has no "Traceback" header when it stops the module from compiling at all.
  const lines = (start >= 0 ? stderr.slice(start) : stderr).split("\n").slice(start >= 0 ? 1 : 0);
  const frames: PythonFrame[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const frame = /^\s*File "([^"]*)", line (\d+)(?:, in (.+))?$/.exec(lines[i]!);
    if (!frame) {
      if (/^\s/.test(lines[i]!) || lines[i] === "") continue;
      break;
    }
    const location = `line ${frame[2]}${frame[3] ? `, in ${frame[3]}` : ""}`;
    const next = lines[i + 1];
    const source = next && /^\s{4}\S/.test(next) && !/^\s*File "/.test(next) ? next.trim() : undefined;
    frames.push({ location, source });
  }
  const exception = lines
    .slice(i)
    .filter((line) => line.trim() !== "")
    .filter((line) => !/^\s*[~^]+\s*$/.test(line));
  if (frames.length === 0 && !exception.some((line) => /^\w+(Error|Exception|Exit)\b/.test(line)))
    return undefined;
  return { frames, exception };
}

function clip(text: string): string {
  return text.length <= maxFeedbackChars ? text : `${text.slice(0, maxFeedbackChars)}\n[…]`;
}

/** Feedback for a finished run; `timeoutMs` and `memoryMb` name the limits that were hit. */
export function summarizeRun(result: SandboxResult, limits: { timeoutMs: number; memoryMb: number }): string {
  switch (result.status) {
    case "ok":
      return "All tests passed.";
    case "timeout":
      return result.reason === "CPU time limit"
        ? "Timed out: the program used more CPU time than allowed (an infinite loop, or too slow)."
        : `Timed out after ${limits.timeoutMs} ms: an infinite loop, a blocking read, or too slow.`;
    case "memory":
      return `Ran out of memory (limit ${limits.memoryMb} MB).`;
    case "killed":
      return result.reason === "output limit"
        ? "Killed: the program printed more output than allowed."
        : `Killed by ${result.signal ?? "a signal"}.`;
    case "error":
      return clip(describeError(result.stderr, result.exitCode));
  }
}

function describeError(stderr: string, exitCode: number | null): string {
  const traceback = lastTraceback(stderr);
  if (!traceback) {
    const tail = stderr.trim().split("\n").slice(-8).join("\n");
    return tail
      ? `Failed (exit code ${exitCode}):\n${tail}`
      : `Failed with exit code ${exitCode} and no error output.`;
  }
  const { frames, exception } = traceback;
  const lines: string[] = [];
  const kind = exception[0] ?? "";
  const last = frames[frames.length - 1];
  if (/^AssertionError\b/.test(kind) && last?.source?.startsWith("assert"))
    lines.push(`Failed assertion: ${last.source}`);
  lines.push(...exception.slice(0, 6));
  // The test harness's own frames say nothing about the answer.
  const relevant = frames.filter((frame) => !/, in (__visible_tests|<module>)$/.test(frame.location));
  const shown = relevant.slice(-3);
  if (/^(SyntaxError|IndentationError|TabError)\b/.test(kind) && shown.length > 0) {
    lines.push(`At ${shown[shown.length - 1]!.location}: ${shown[shown.length - 1]!.source ?? ""}`.trimEnd());
  } else if (shown.length > 0) {
    lines.push(`Traceback (last ${shown.length} call${shown.length > 1 ? "s" : ""}):`);
    for (const frame of shown) lines.push(`  ${frame.location}${frame.source ? `: ${frame.source}` : ""}`);
  }
  return lines.join("\n");
}
