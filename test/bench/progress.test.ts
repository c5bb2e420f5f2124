import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createProgressDisplay, createProgressLines, progressStyle } from "../../src/bench/progress.js";

function capture(tty: boolean) {
  const stream = Object.assign(new PassThrough(), {
    isTTY: tty,
    columns: 200,
    cursorTo() {},
    clearLine() {},
    moveCursor() {},
  });
  const out = { text: "" };
  stream.on("data", (d) => {
    out.text += d;
  });
  return { stream, out };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("bench progress", () => {
  it("draws a bar for a person at a terminal, plain lines in logs and pipes, nothing for --json or --quiet", () => {
    const tty = { isTTY: true };
    expect(progressStyle({}, {}, tty)).toBe("bar");
    expect(progressStyle({}, { CI: "true" }, tty)).toBe("lines");
    expect(progressStyle({}, {}, { isTTY: false })).toBe("lines");
    expect(progressStyle({ json: true }, {}, { isTTY: false })).toBe("off");
    expect(progressStyle({ json: true }, {}, tty)).toBe("off");
    expect(progressStyle({ quiet: true }, {}, tty)).toBe("off");
  });

  it("shows problems, results and running accuracy", () => {
    const { stream, out } = capture(true);
    const display = createProgressDisplay("bar", stream);
    const base = {
      phase: "results" as const,
      problems: 4,
      results: 32,
      newSamples: 64,
      newTokens: 120,
      accuracy: 0.5,
    };
    display.update({ ...base, problemsDone: 0, resultsDone: 0 });
    display.update({ ...base, problemsDone: 4, resultsDone: 32 });
    display.stop();
    expect(out.text).toContain("problems 4/4");
    expect(out.text).toContain("results 32/32");
    expect(out.text).toContain("accuracy 0.500");
  });

  it("without a terminal, writes a line at the start, at each tenth and every 5 s, never one per sample", () => {
    vi.useFakeTimers();
    const { stream, out } = capture(false);
    const display = createProgressDisplay("lines", stream);
    const base = {
      phase: "results" as const,
      problems: 10,
      results: 1000,
      newSamples: 0,
      newTokens: 0,
      accuracy: 0.25,
    };
    for (let done = 0; done <= 1000; done++) display.update({ ...base, problemsDone: 0, resultsDone: done });
    const lines = out.text.trimEnd().split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^bench: 0% \| problems 0\/10 \| results 0\/1000 .*accuracy 0\.250/);
    expect(lines[10]).toMatch(/^bench: 100% \| .*results 1000\/1000/);
    expect(out.text).not.toContain("\r");

    // A stall still shows, as time passing.
    vi.advanceTimersByTime(5000);
    expect(out.text.trimEnd().split("\n")).toHaveLength(12);
    vi.advanceTimersByTime(2000);
    expect(out.text.trimEnd().split("\n")).toHaveLength(12);
    vi.advanceTimersByTime(3000);
    expect(out.text.trimEnd().split("\n")).toHaveLength(13);
    display.stop();
    vi.advanceTimersByTime(60_000);
    expect(out.text.trimEnd().split("\n")).toHaveLength(13);
  });

  it("lines for a short request stay silent until 5 s have passed", () => {
    vi.useFakeTimers();
    const { stream, out } = capture(false);
    const lines = createProgressLines<{ done: number }>({
      stream,
      format: (s, ms) => `ask: ${s.done}/8 samples, ${Math.round(ms / 1000)} s`,
    });
    lines.update({ done: 0 });
    vi.advanceTimersByTime(4000);
    for (let done = 1; done <= 8; done++) lines.update({ done });
    expect(out.text).toBe("");
    vi.advanceTimersByTime(1000);
    expect(out.text).toBe("ask: 8/8 samples, 5 s\n");
    lines.stop();
  });
});
