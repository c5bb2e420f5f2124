/**
 * The embedded engine tells a reasoning model's thinking from its answer, as the OpenAI backend
 * does. The bundled model does not think, so it is given think tags it writes itself: its
 * prompt `Q: …` opens a block that the `A:` it writes before each answer closes. Its real
 * decoded text then passes through the backend's splitter: the working is the thinking, the
 * number after `A:` the answer, streamed apart, with the thinking's tokens counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDefaultBackend } from "../../src/backends/embedded.js";
import type { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import type { TokenEvent } from "../../src/core/backend.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";

const PROMPT = "Q: 5+12*3-7*4=?\n";
const request = { prompt: PROMPT, n: 4, temperature: 1, seed: 7, maxTokens: 64 };

/** Thinks between the prompt's `Q:` and its own `A:`. */
let thinking: LlamaCppBackend;
/** The same model taking the text as it comes. */
let plain: LlamaCppBackend;
/** The default tags (`<think>…</think>`), which this model never writes. */
let defaults: LlamaCppBackend;

beforeAll(async () => {
  thinking = await createDefaultBackend({ sequences: 4, threads: 1, thinkTags: ["Q:", "A:"] });
  plain = await createDefaultBackend({ sequences: 4, threads: 1, thinkTags: false });
  defaults = await createDefaultBackend({ sequences: 4, threads: 1 });
});

afterAll(async () => {
  await thinking?.close();
  await plain?.close();
  await defaults?.close();
});

describe("thinking told from the answer in the embedded engine", () => {
  it("gives the working as reasoning and the stated answer as text, its tokens counted", async () => {
    const split = await thinking.generate(request);
    const whole = await plain.generate(request);
    for (const [i, c] of split.completions.entries()) {
      const raw = whole.completions[i]!;
      // The same seeded sample, told apart: thinking, the closing tag, the answer.
      expect(raw.text).toBe(`${c.reasoning}\nA: ${c.text}`);
      expect(c.text).toBe(arithmeticTask.extractAnswer(raw.text));
      expect(c.reasoning).toMatch(/^12\*3=/);
      expect(c.tokens).toBe(raw.tokens);
      // The thinking's tokens spell it and its closing tag (one token a character here).
      expect(c.reasoningTokens).toBe(thinking.model.tokenize(`${c.reasoning}\nA:`, false).length);
      expect(c.reasoningTokens).toBeLessThan(c.tokens);
    }
    expect(split.usage.reasoningTokens).toBe(split.completions.reduce((s, c) => s + c.reasoningTokens!, 0));
    expect(split.usage.completionTokens).toBe(whole.usage.completionTokens);
  });

  it("streams the thinking apart from the answer, all of it before the answer's first piece", async () => {
    const events: TokenEvent[] = [];
    const response = await thinking.generate({ ...request, onToken: (e) => events.push(e) });
    for (const [i, c] of response.completions.entries()) {
      const mine = events.filter((e) => e.index === i);
      expect(mine.map((e) => e.reasoning ?? "").join("")).toBe(c.reasoning);
      expect(mine.map((e) => e.text).join("")).toBe(c.text);
      expect(mine.reduce((s, e) => s + e.tokens, 0)).toBe(c.tokens);
      const firstAnswer = mine.findIndex((e) => e.text !== "");
      expect(firstAnswer).toBeGreaterThan(0);
      expect(mine.slice(firstAnswer).some((e) => e.reasoning)).toBe(false);
      // No piece of the closing tag leaks into either part.
      expect(mine.some((e) => e.text.includes("A") || e.reasoning?.includes("A"))).toBe(false);
    }
  });

  it("continues a partial answer whose thinking is still open, and one whose thinking has closed", async () => {
    const open = "12*3=36\n";
    const inside = await thinking.generate({ ...request, continuation: open });
    const insidePlain = await plain.generate({ ...request, continuation: open });
    for (const [i, c] of inside.completions.entries()) {
      // The sample goes on thinking where the partial answer stopped, then answers.
      expect(`${open}${insidePlain.completions[i]!.text}`).toBe(`${open}${c.reasoning}\nA: ${c.text}`);
      expect(c.reasoning).toMatch(/^7\*4=/);
      expect(c.reasoningTokens).toBe(thinking.model.tokenize(`${c.reasoning}\nA:`, false).length);
    }

    const closed = "12*3=36\n7*4=28\n5+36=41\n41-28=13\nA:";
    const after = await thinking.generate({ ...request, continuation: closed });
    const afterPlain = await plain.generate({ ...request, continuation: closed });
    for (const [i, c] of after.completions.entries()) {
      // Past the closing tag everything is answer, as it comes.
      expect(c.text).toBe(afterPlain.completions[i]!.text);
      expect(c.reasoning).toBeUndefined();
      expect(c.reasoningTokens).toBeUndefined();
    }
    expect(after.usage.reasoningTokens).toBeUndefined();
  });

  it("ends a sample cut off while thinking with its thinking and no answer", async () => {
    const cut = await thinking.generate({ ...request, n: 2, maxTokens: 10 });
    for (const c of cut.completions) {
      expect(c.finishReason).toBe("length");
      expect(c.text).toBe("");
      expect(c.reasoning!.length).toBeGreaterThan(0);
      expect(c.reasoningTokens).toBe(c.tokens);
    }
    // A stop string found in the thinking ends it there, as a server's would.
    const stopped = await thinking.generate({ ...request, n: 2, stop: ["="] });
    for (const c of stopped.completions) {
      expect(c).toMatchObject({
        finishReason: "stop-sequence",
        stopSequence: "=",
        text: "",
        reasoning: "12*3",
      });
    }
  });

  it("leaves a model that writes no think tags as it was under the default tags", async () => {
    const events: TokenEvent[] = [];
    const withDefaults = await defaults.generate({ ...request, onToken: (e) => events.push(e) });
    const asItComes = await plain.generate(request);
    expect(withDefaults.completions).toEqual(asItComes.completions);
    expect(withDefaults.completions.every((c) => c.text.includes("\nA: "))).toBe(true);
    expect(events.some((e) => e.reasoning !== undefined)).toBe(false);
    expect(withDefaults.usage.reasoningTokens).toBeUndefined();
  });

  it("refuses bad tags naming the option", async () => {
    await expect(createDefaultBackend({ thinkTags: ["<think>", ""] as never })).rejects.toMatchObject({
      field: expect.stringContaining("thinkTags"),
    });
  });
});
