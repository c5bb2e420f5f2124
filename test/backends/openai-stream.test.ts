/** Stop strings found in streamed text, and a streamed answer's choices assembled from events. */
import { describe, expect, it } from "vitest";
import { applyStops, StreamedChoices } from "../../src/backends/openai-stream.js";
import type { ParsedChoice, ParsedChunk } from "../../src/backends/openai-wire.js";
import { StopScanner } from "../../src/backends/stop-scanner.js";
import type { TokenEvent } from "../../src/core/backend.js";

const piece = (index: number, text: string, finish?: ParsedChoice["finishReason"]): ParsedChunk => ({
  choices: [{ index, text, ...(finish ? { finish: { finishReason: finish } } : {}) }],
  reportsStopReason: false,
});

describe("StopScanner", () => {
  it("holds back what may start a stop string and releases it once it cannot", () => {
    const scanner = new StopScanner(["\n\n", "END"]);
    expect(scanner.push("a\n")).toEqual({ release: "a" });
    expect(scanner.push("b")).toEqual({ release: "\nb" });
    expect(scanner.push("EN")).toEqual({ release: "" });
    expect(scanner.push("D and more")).toEqual({ release: "", stop: "END" });
    expect(scanner.push("ignored")).toEqual({ release: "" });
  });

  it("finds a stop string split across pieces and keeps the text before it", () => {
    const scanner = new StopScanner(["\n"]);
    const released = ["12*3=", "36", "\n5+"].map((p) => scanner.push(p));
    expect(released.map((r) => r.release).join("")).toBe("12*3=36");
    expect(released.at(-1)!.stop).toBe("\n");
  });

  it("releases a held-back prefix at the end of text", () => {
    const scanner = new StopScanner(["\nQ:"]);
    expect(scanner.push("A: 7\n").release).toBe("A: 7");
    expect(scanner.flush()).toBe("\n");
  });
});

describe("StreamedChoices", () => {
  it("joins each choice's pieces, reports a choice when it ends and numbers choices as sent", () => {
    const events: TokenEvent[] = [];
    const ended: [string, number][] = [];
    const choices = new StreamedChoices({
      n: 2,
      stops: [],
      wantLogprobs: false,
      onToken: (event) => events.push(event),
      onChoice: (choice, index) => ended.push([choice.text, index]),
    });
    choices.consume(piece(1, "b1"));
    choices.consume(piece(0, "a1"));
    choices.consume(piece(1, " b2", "eos"));
    expect(ended).toEqual([["b1 b2", 1]]);
    choices.consume(piece(0, " a2", "length"));
    const response = choices.response();
    expect(response.choices.map((c) => [c.text, c.finishReason, c.tokens])).toEqual([
      ["a1 a2", "length", 2],
      ["b1 b2", "eos", 2],
    ]);
    expect(events.filter((e) => e.index === 0).map((e) => e.text)).toEqual(["a1", " a2"]);
  });

  it("ends a choice at a stop string found here, and asks to close the stream once all have ended", () => {
    const choices = new StreamedChoices({ n: 1, stops: ["\n"], wantLogprobs: false });
    expect(choices.consume(piece(0, "12*3="))).toBe("more");
    expect(choices.consume(piece(0, "36\n5"))).toBe("enough");
    const [choice] = choices.response().choices;
    expect(choice).toMatchObject({ text: "12*3=36", finishReason: "stop-sequence", stopSequence: "\n" });
  });

  it("marks choices still being written as cut off", () => {
    const choices = new StreamedChoices({ n: 2, stops: [], wantLogprobs: false });
    choices.consume(piece(0, "done", "eos"));
    choices.consume(piece(1, "half"));
    expect(choices.response().choices.map((c) => c.finishReason)).toEqual(["eos", "aborted"]);
  });

  it("cuts a whole answer at its first stop string", () => {
    const choice: ParsedChoice = { text: "12*3=36\n5+36=41", finishReason: "eos" };
    expect(applyStops(choice, ["\n"])).toMatchObject({
      text: "12*3=36",
      finishReason: "stop-sequence",
      stopSequence: "\n",
    });
    expect(applyStops(choice, ["never"])).toBe(choice);
  });
});
