import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomLlamaGguf } from "../../bench/random-gguf.js";
import {
  createDefaultBackend,
  createLlamaCppBackend,
  defaultModelPath,
} from "../../src/backends/embedded.js";
import { kvCacheSelectable, type LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { wrapBackend } from "../../src/core/backend.js";
import { AbortedError, InvalidInputError } from "../../src/core/errors.js";
import { Meter } from "../../src/core/meter.js";
import { meteringMiddleware } from "../../src/core/metering.js";
import type { TokenLogprob } from "../../src/core/types.js";

const PROMPT = "Q: 5+12*3-7*4=?\n";
const OTHER_PROMPT = "Q: 8*7+9=?\n";
/** Five operations: even a trained model's samples differ here. */
const HARD_PROMPT = "Q: 47+9*8-12*3+55-6*7=?\n";

let backend: LlamaCppBackend;
/** Few sequences, so that larger n runs in waves. */
let small: LlamaCppBackend;

beforeAll(async () => {
  backend = await createDefaultBackend({ sequences: 8 });
  small = await createDefaultBackend({ sequences: 3 });
});

afterAll(async () => {
  await backend?.close();
  await small?.close();
});

const texts = (response: { completions: { text: string }[] }) => response.completions.map((c) => c.text);

describe("loading", () => {
  it("loads the bundled GGUF and describes itself", () => {
    expect(defaultModelPath()).toMatch(/models[/\\]reckon-tiny\.gguf$/);
    expect(existsSync(defaultModelPath())).toBe(true);
    expect(backend.id).toBe("llamacpp:reckon-tiny");
    expect(backend.mode).toBe("completion");
    expect(backend.capabilities).toEqual({
      multipleSamples: true,
      logprobs: true,
      continuation: true,
      promptScoring: false,
      chat: false,
      streaming: true,
      stopSequences: true,
    });
    expect(backend.parameterCount).toBeGreaterThan(100_000);
    expect(backend.sequenceCount).toBe(8);
    expect(backend.contextSize).toBeGreaterThanOrEqual(64);
  });

  it("runs on the addon npm test installs, which lets a context choose its KV layout", async () => {
    expect(backend.model.llama.buildType).toBe("localBuild");
    expect(kvCacheSelectable(backend.model.llama)).toBe(true);
    // On x64 with ggml's CPU kernels of this CPU's variant compiled here.
    if (process.arch === "x64") expect(backend.model.llama.cmakeOptions.RECKON_CPU_KERNELS).toMatch(/^\w+$/);
    // A 4 MB model: attention over every sequence's cells would cost more than a split batch.
    expect(backend.kvCache).toBe("per-sequence");
    const unified = await createDefaultBackend({ sequences: 2, kvCache: "unified" });
    try {
      expect(unified.kvCache).toBe("unified");
      const request = { prompt: PROMPT, n: 2, temperature: 0, maxTokens: 40 };
      expect(texts(await unified.generate(request))).toEqual(texts(await backend.generate(request)));
    } finally {
      await unified.close();
    }
  });

  it("names the field when the model file is missing or not a GGUF", async () => {
    const missing = createLlamaCppBackend({ modelPath: "models/does-not-exist.gguf" });
    await expect(missing).rejects.toBeInstanceOf(InvalidInputError);
    await expect(missing).rejects.toMatchObject({ field: "modelPath" });
    const notGguf = createLlamaCppBackend({ modelPath: "package.json" });
    await expect(notGguf).rejects.toThrow(/not a GGUF/);
    await expect(
      createLlamaCppBackend({ modelPath: defaultModelPath(), sequences: 0 }),
    ).rejects.toMatchObject({
      field: "llamacpp options.sequences",
    });
  });
});

describe("sampling", () => {
  it("gives the same samples for the same seed and prompt", async () => {
    const request = { prompt: PROMPT, n: 6, temperature: 1, seed: 42, maxTokens: 24 };
    const first = await backend.generate(request);
    const second = await backend.generate(request);
    expect(texts(second)).toEqual(texts(first));
    const reseeded = await backend.generate({ ...request, seed: 43 });
    expect(texts(reseeded)).not.toEqual(texts(first));
  });

  it("draws distinct samples on parallel sequences at temperature > 0", async () => {
    const response = await backend.generate({ prompt: PROMPT, n: 8, temperature: 1, seed: 7, maxTokens: 24 });
    expect(response.completions).toHaveLength(8);
    expect(new Set(texts(response)).size).toBeGreaterThan(1);
  });

  it("decodes greedily at temperature 0, identically on every sequence and call", async () => {
    const a = await backend.generate({ prompt: PROMPT, n: 4, temperature: 0, maxTokens: 40 });
    const b = await backend.generate({ prompt: PROMPT, n: 1, temperature: 0, maxTokens: 40, seed: 99 });
    expect(new Set(texts(a)).size).toBe(1);
    expect(b.completions[0]!.text).toBe(a.completions[0]!.text);
    expect(a.completions[0]!.text.length).toBeGreaterThan(0);
  });

  it("stops at a stop sequence and leaves it out", async () => {
    const full = await backend.generate({ prompt: PROMPT, n: 1, temperature: 0, maxTokens: 40 });
    const text = full.completions[0]!.text;
    const newline = text.indexOf("\n");
    expect(newline).toBeGreaterThan(0);
    const stopped = await backend.generate({
      prompt: PROMPT,
      n: 2,
      temperature: 0,
      maxTokens: 40,
      stop: ["\n"],
    });
    for (const completion of stopped.completions) {
      expect(completion.text).toBe(text.slice(0, newline));
      expect(completion.finishReason).toBe("stop-sequence");
    }
  });

  it("ends with finishReason length at maxTokens", async () => {
    const response = await backend.generate({ prompt: PROMPT, n: 3, temperature: 1, seed: 1, maxTokens: 3 });
    for (const completion of response.completions) {
      expect(completion.tokens).toBe(3);
      expect(completion.finishReason).toBe("length");
    }
  });

  it("generates past the end of text to maxTokens with ignoreEos", async () => {
    const plain = (await backend.generate({ prompt: PROMPT, n: 2, temperature: 0, maxTokens: 60 }))
      .completions[0]!;
    expect(plain.finishReason).toBe("eos");
    expect(plain.tokens).toBeLessThan(60);
    const response = await backend.generate({
      prompt: PROMPT,
      n: 2,
      temperature: 0,
      maxTokens: 60,
      ignoreEos: true,
    });
    for (const completion of response.completions) {
      expect(completion.tokens).toBe(60);
      expect(completion.finishReason).toBe("length");
      // Greedy: the same tokens up to where the model would have ended.
      expect(completion.text.startsWith(plain.text)).toBe(true);
      expect(completion.text.length).toBeGreaterThan(plain.text.length);
    }
    expect(response.usage.completionTokens).toBe(120);
  });

  it("continues a given partial answer exactly where greedy decoding would", async () => {
    const full = (await backend.generate({ prompt: PROMPT, n: 1, temperature: 0, maxTokens: 48 }))
      .completions[0]!;
    const half = full.text.slice(0, Math.floor(full.text.length / 2));
    expect(half.length).toBeGreaterThan(0);
    const halfTokens = backend.model.tokenize(half, false).length;
    const rest = await backend.generate({
      prompt: PROMPT,
      continuation: half,
      n: 2,
      temperature: 0,
      maxTokens: 48 - halfTokens,
    });
    for (const completion of rest.completions) expect(half + completion.text).toBe(full.text);
  });

  it("reports valid per-token log-probabilities", async () => {
    const response = await backend.generate({
      prompt: PROMPT,
      n: 2,
      temperature: 1,
      seed: 5,
      maxTokens: 12,
      logprobs: true,
      topLogprobs: 5,
    });
    for (const completion of response.completions) {
      const logprobs = completion.logprobs!;
      expect(logprobs).toHaveLength(completion.tokens);
      for (const entry of logprobs) {
        expect(entry.logprob).toBeLessThanOrEqual(0);
        expect(entry.top!.length).toBeGreaterThan(0);
        expect(entry.top!.length).toBeLessThanOrEqual(5);
        const mass = entry.top!.reduce((sum, t) => sum + Math.exp(t.logprob), 0);
        expect(mass).toBeLessThanOrEqual(1 + 1e-6);
        for (let i = 1; i < entry.top!.length; i++)
          expect(entry.top![i]!.logprob).toBeLessThanOrEqual(entry.top![i - 1]!.logprob);
        const listed = entry.top!.find((t) => t.token === entry.token);
        if (listed) expect(listed.logprob).toBeCloseTo(entry.logprob, 6);
      }
    }
    const greedy = await backend.generate({
      prompt: PROMPT,
      n: 1,
      temperature: 0,
      maxTokens: 8,
      logprobs: true,
      topLogprobs: 2,
    });
    for (const entry of greedy.completions[0]!.logprobs!) expect(entry.token).toBe(entry.top![0]!.token);
  });

  it("rejects a prompt that leaves no room in the context", async () => {
    const long = `Q: ${"1+".repeat(backend.contextSize)}1=?\n`;
    await expect(backend.generate({ prompt: long, n: 1 })).rejects.toMatchObject({ field: "prompt" });
    await expect(backend.generate({ prompt: PROMPT, n: 0 })).rejects.toMatchObject({ field: "request.n" });
    await expect(
      backend.generate({ prompt: [{ role: "user", content: "hi" }], n: 1 }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe.each(["per-sequence", "unified"] as const)("sequences and the KV cache, %s", (kvCache) => {
  // The bundled model runs per-sequence by default; the unified layout holds every sequence in
  // one cache, where a copied prefix shares cells and a sequence's cells must never leak into another's.
  let backend: LlamaCppBackend;
  let small: LlamaCppBackend;
  beforeAll(async () => {
    backend = await createDefaultBackend({ sequences: 8, kvCache });
    small = await createDefaultBackend({ sequences: 3, kvCache });
  });
  afterAll(async () => {
    await backend?.close();
    await small?.close();
  });

  it("counts evaluated, reused and completion tokens", async () => {
    const fresh = await createDefaultBackend({ sequences: 4, kvCache });
    try {
      const promptTokens = fresh.model.tokenize(PROMPT, false).length + 1; // + BOS
      const prefix = promptTokens - 1;
      const first = await fresh.generate({ prompt: PROMPT, n: 4, temperature: 1, seed: 3, maxTokens: 10 });
      // The prefix is evaluated once, then copied to the three other sequences.
      expect(first.usage.promptTokens).toBe(prefix + 4);
      expect(first.usage.cachedPromptTokens).toBe(prefix * 3);
      expect(first.usage.completionTokens).toBe(first.completions.reduce((s, c) => s + c.tokens, 0));
      expect(first.usage.calls).toBe(1);
      expect(first.usage.latencyMs).toBeGreaterThan(0);
      expect(first.usage.estimated).toBe(false);
      expect(fresh.stats.promptTokensCopied).toBe(prefix * 3);
      // The same prompt again: every sequence still holds it.
      const second = await fresh.generate({ prompt: PROMPT, n: 4, temperature: 1, seed: 4, maxTokens: 10 });
      expect(second.usage.promptTokens).toBe(4);
      expect(second.usage.cachedPromptTokens).toBe(prefix * 4);
    } finally {
      await fresh.close();
    }
  });

  it("gives the same greedy text from a copied KV prefix as from a re-evaluated one", async () => {
    const uncached = await createDefaultBackend({ sequences: 4, prefixCache: "off", kvCache });
    try {
      const request = { prompt: OTHER_PROMPT, n: 4, temperature: 0, maxTokens: 40 };
      const copied = await backend.generate(request);
      const evaluated = await uncached.generate(request);
      expect(texts(copied)).toEqual(texts(evaluated));
      expect(evaluated.usage.cachedPromptTokens).toBe(0);
      expect(copied.usage.promptTokens).toBeLessThan(evaluated.usage.promptTokens);
      const seeded = { prompt: OTHER_PROMPT, n: 4, temperature: 1, seed: 11, maxTokens: 30 };
      expect(texts(await backend.generate(seeded))).toEqual(texts(await uncached.generate(seeded)));
    } finally {
      await uncached.close();
    }
  });

  it("runs n larger than the sequence count in waves, deterministically", async () => {
    const request = { prompt: HARD_PROMPT, n: 8, temperature: 1, seed: 21, maxTokens: 60 };
    const waves = await small.generate(request);
    expect(waves.completions).toHaveLength(8);
    for (const completion of waves.completions) expect(completion.tokens).toBeGreaterThan(0);
    expect(new Set(texts(waves)).size).toBeGreaterThan(1);
    expect(texts(await small.generate(request))).toEqual(texts(waves));
    // Later waves find the prompt still cached on their sequence.
    expect(waves.usage.promptTokens).toBeLessThan(2 * backend.model.tokenize(HARD_PROMPT, false).length);
    expect(small.idleSequences).toBe(3);
  });

  it("keeps overlapping calls apart", async () => {
    // Greedy: overlapping calls share batches, and batch shape moves logits by rounding only.
    const a = { prompt: PROMPT, n: 3, temperature: 0, maxTokens: 30 };
    const b = { prompt: OTHER_PROMPT, n: 4, temperature: 0, maxTokens: 30 };
    const [together1, together2] = await Promise.all([small.generate(a), small.generate(b)]);
    const alone1 = await small.generate(a);
    const alone2 = await small.generate(b);
    expect(texts(together1)).toEqual(texts(alone1));
    expect(texts(together2)).toEqual(texts(alone2));
    expect(small.idleSequences).toBe(3);
  });

  it("frees its sequences when aborted, and the next call works", async () => {
    const controller = new AbortController();
    const running = small.generate({
      prompt: PROMPT,
      n: 6,
      temperature: 1,
      seed: 2,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 5);
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(small.idleSequences).toBe(3);
    await expect(
      small.generate({ prompt: PROMPT, n: 1, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
    const after = await small.generate({ prompt: PROMPT, n: 3, temperature: 0, maxTokens: 10 });
    expect(after.completions).toHaveLength(3);
    expect(new Set(texts(after)).size).toBe(1);
  });
});

describe("finish reasons, per-sample callbacks and cancellation with partial results", () => {
  it("tells a requested stop string from the end of the answer", async () => {
    const stepped = await backend.generate({
      prompt: PROMPT,
      n: 1,
      temperature: 0,
      stop: ["\n"],
      maxTokens: 40,
    });
    expect(stepped.completions[0]).toMatchObject({ finishReason: "stop-sequence", stopSequence: "\n" });
    const whole = await backend.generate({ prompt: PROMPT, n: 1, temperature: 0, maxTokens: 80 });
    expect(whole.completions[0]!.finishReason).toBe("eos");
  });

  it("seeds sample i the same whichever call draws it (sampleOffset)", async () => {
    const all = await backend.generate({ prompt: PROMPT, n: 4, temperature: 1, seed: 21, maxTokens: 40 });
    const tail = await backend.generate({
      prompt: PROMPT,
      n: 2,
      temperature: 1,
      seed: 21,
      maxTokens: 40,
      sampleOffset: 2,
    });
    expect(texts(tail)).toEqual(texts(all).slice(2));
  });

  it("returns finished and cut-off samples on abort, and metering counts every token spent", async () => {
    const meter = new Meter();
    const metered = wrapBackend(small, [meteringMiddleware({ meter })]);
    const controller = new AbortController();
    const finished: number[] = [];
    const error = await metered
      .generate({
        prompt: PROMPT,
        n: 3,
        temperature: 1,
        seed: 5,
        maxTokens: 120,
        signal: controller.signal,
        // The first sample to finish cancels the rest, as first-finish search does.
        onSample: (completion, index) => {
          finished.push(index);
          expect(completion.finishReason).not.toBe("aborted");
          controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    const partial = (error as AbortedError).partial!;
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(partial.completions.length).toBe(3);
    expect(partial.completions.filter((c) => c.finishReason !== "aborted").length).toBe(finished.length);
    const spent = partial.completions.reduce((sum, c) => sum + c.tokens, 0);
    expect(partial.usage.completionTokens).toBe(spent);
    expect(meter.usage.completionTokens).toBe(spent);
    expect(meter.usage.calls).toBe(1);
    expect(small.idleSequences).toBe(3);
  });
});

describe("chat mode", () => {
  it("renders messages with the model's chat template", async () => {
    const chat = await createLlamaCppBackend({ modelPath: defaultModelPath(), mode: "chat", sequences: 2 });
    try {
      expect(chat.capabilities.chat).toBe(true);
      const response = await chat.generate({
        prompt: [
          { role: "system", content: "Solve it." },
          { role: "user", content: "5+3" },
        ],
        n: 2,
        temperature: 0,
        maxTokens: 8,
      });
      expect(response.completions).toHaveLength(2);
      expect(response.completions[0]!.text).toBe(response.completions[1]!.text);
      expect(response.usage.promptTokens).toBeGreaterThan(2);
    } finally {
      await chat.close();
    }
  });

  it("uses a GGUF's own chat template and stops at its end-of-turn token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reckon-chatml-"));
    const path = join(dir, "chatml.gguf");
    writeFileSync(
      path,
      randomLlamaGguf({ embedding: 64, layers: 2, heads: 4, feedForward: 128, context: 256, chatml: true }),
    );
    const chat = await createLlamaCppBackend({ modelPath: path, sequences: 2 });
    try {
      expect(chat.mode).toBe("chat"); // chosen because the GGUF carries a template
      const { preparePrompt, chatTemplateOf } = await import("../../src/backends/llamacpp-prompt.js");
      const prompt = preparePrompt(
        chat.model,
        "chat",
        chatTemplateOf(chat.model),
        [{ role: "user", content: "2+2" }],
        "4",
      );
      const rendered = chat.model.detokenize(prompt.tokens, true);
      expect(rendered).toContain("<|im_start|>user\n2+2<|im_end|>");
      expect(rendered.endsWith("<|im_start|>assistant\n4")).toBe(true);
      const imEnd = chat.model.tokenize("<|im_end|>", true);
      expect(imEnd).toHaveLength(1);
      expect(prompt.stopTokens.has(imEnd[0]!) || chat.model.isEogToken(imEnd[0]!)).toBe(true);
      const response = await chat.generate({ prompt: "2+2", n: 3, temperature: 1, seed: 1, maxTokens: 12 });
      expect(response.completions).toHaveLength(3);
      for (const completion of response.completions) expect(completion.text).not.toContain("<|im_end|>");
    } finally {
      await chat.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("streaming and the text of stop strings", () => {
  /** Every onToken piece of each sample, by index. */
  const collect = () => {
    const pieces = new Map<number, { text: string[]; tokens: number; logprobs: TokenLogprob[] }>();
    const onToken = (event: { index: number; text: string; tokens: number; logprobs?: TokenLogprob[] }) => {
      const entry = pieces.get(event.index) ?? { text: [], tokens: 0, logprobs: [] };
      entry.text.push(event.text);
      entry.tokens += event.tokens;
      entry.logprobs.push(...(event.logprobs ?? []));
      pieces.set(event.index, entry);
    };
    return { pieces, onToken };
  };

  it("streams pieces that join to each sample's final text, with and without stop strings", async () => {
    for (const stop of [undefined, ["\n"], ["=", "+"]]) {
      const { pieces, onToken } = collect();
      const request = { prompt: HARD_PROMPT, n: 6, temperature: 1, seed: 31, maxTokens: 48, logprobs: true };
      const response = await backend.generate({ ...request, ...(stop ? { stop } : {}), onToken });
      const plain = await backend.generate({ ...request, ...(stop ? { stop } : {}) });
      expect(texts(response)).toEqual(texts(plain));
      for (const [index, completion] of response.completions.entries()) {
        const streamed = pieces.get(index)!;
        expect(streamed.text.join("")).toBe(completion.text);
        expect(streamed.tokens).toBe(completion.tokens);
        expect(streamed.logprobs).toEqual(completion.logprobs);
        if (completion.text.length > 4) expect(streamed.text.length).toBeGreaterThan(1);
      }
    }
  });

  it("finds the same text token by token as detokenizing the whole sample, on a byte-level vocabulary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reckon-bytes-"));
    const path = join(dir, "bytes.gguf");
    writeFileSync(
      path,
      randomLlamaGguf({ embedding: 64, layers: 2, heads: 4, feedForward: 128, context: 256 }),
    );
    const bytes = await createLlamaCppBackend({ modelPath: path, mode: "completion", sequences: 4 });
    try {
      const request = { prompt: "héllo wörld ✓", n: 4, temperature: 1, seed: 8, maxTokens: 96 };
      // Random bytes: most tokens end inside a multi-byte character.
      const whole = await bytes.generate(request);
      const { pieces, onToken } = collect();
      const tracked = await bytes.generate({ ...request, stop: ["never said"], onToken });
      expect(texts(tracked)).toEqual(texts(whole));
      for (const [index, completion] of tracked.completions.entries())
        expect(pieces.get(index)!.text.join("")).toBe(completion.text);
      expect(texts(whole).join("")).toContain("\uFFFD");
    } finally {
      await bytes.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
