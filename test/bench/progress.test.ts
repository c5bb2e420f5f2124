import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgressDisplay, progressWanted } from "../../src/bench/progress.js";

describe("bench progress", () => {
  it("draws only for a person at a terminal", () => {
    const tty = { isTTY: true };
    expect(progressWanted({}, {}, tty)).toBe(true);
    expect(progressWanted({}, { CI: "true" }, tty)).toBe(false);
    expect(progressWanted({}, {}, { isTTY: false })).toBe(false);
    expect(progressWanted({ json: true }, {}, tty)).toBe(false);
    expect(progressWanted({ quiet: true }, {}, tty)).toBe(false);
  });

  it("shows problems, samples and running accuracy", () => {
    const stream = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 200,
      cursorTo() {},
      clearLine() {},
      moveCursor() {},
    });
    let written = "";
    stream.on("data", (d) => {
      written += d;
    });
    const display = createProgressDisplay(true, stream);
    const base = { problems: 4, samples: 32, newTokens: 120, sampleAccuracy: 0.5 };
    display.update({ ...base, problemsDone: 0, samplesDone: 0 });
    display.update({ ...base, problemsDone: 4, samplesDone: 32 });
    display.stop();
    expect(written).toContain("problems 4/4");
    expect(written).toContain("samples 32/32");
    expect(written).toContain("sample acc 0.500");
  });
});
