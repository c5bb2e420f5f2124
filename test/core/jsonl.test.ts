import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { decodeText, parseJsonLine, parseJsonl } from "../../src/core/jsonl.js";

const row = z.object({ id: z.number(), text: z.string() });
const bom = "\uFEFF";

describe("JSONL files", () => {
  it("reads a file that starts with a UTF-8 byte order mark, as Windows editors save them", () => {
    const content = `${bom}{"id":1,"text":"a"}\n{"id":2,"text":"b"}\n`;
    expect(parseJsonl(row, content, "rows.jsonl")).toEqual([
      { id: 1, text: "a" },
      { id: 2, text: "b" },
    ]);
    // Readers of streams see the mark on the first line only.
    expect(parseJsonLine(row, `${bom}{"id":3,"text":"c"}`, "line 1")).toEqual({ id: 3, text: "c" });
  });

  it("drops the byte order mark when decoding a file, plain or gzipped, and keeps the rest", () => {
    const bytes = Buffer.from(`${bom}{"id":1,"text":"${bom}inside"}\n`, "utf8");
    expect(decodeText("rows.jsonl", bytes)).toBe(`{"id":1,"text":"${bom}inside"}\n`);
    expect(decodeText("rows.jsonl.gz", gzipSync(bytes))).toBe(`{"id":1,"text":"${bom}inside"}\n`);
  });

  it("still names the line of invalid JSON", () => {
    expect(() => parseJsonl(row, '{"id":1,"text":"a"}\n{nope}\n', "rows.jsonl")).toThrow(
      /rows\.jsonl line 2: not valid JSON/,
    );
  });
});
