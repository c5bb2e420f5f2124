import { existsSync, readFileSync } from "node:fs";
import { getLlama, type Llama, LlamaCompletion, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arithmeticTask, generateArithmeticProblems } from "../../src/tasks/arithmetic.js";

// The GGUF written by tools/train-tiny must compute what the PyTorch model computed:
// export.py stores next-token probabilities for a few prefixes next to the model.
const MODEL = process.env.RECKON_TINY_GGUF ?? "models/reckon-tiny.gguf";
const REFERENCE = process.env.RECKON_TINY_REFERENCE ?? "models/reckon-tiny.reference.json";

interface ReferencePrefix {
  text: string;
  bos: boolean;
  tokens: number[];
  probabilities: Record<string, number>;
}

const reference = existsSync(REFERENCE)
  ? (JSON.parse(readFileSync(REFERENCE, "utf8")) as { step: number; prefixes: ReferencePrefix[] })
  : { step: 0, prefixes: [] };

describe.runIf(existsSync(MODEL))("models/reckon-tiny.gguf in node-llama-cpp", () => {
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: "never" });
    model = await llama.loadModel({ modelPath: MODEL });
  }, 60_000);

  afterAll(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  it("has a reference file next to it", () => {
    expect(reference.prefixes.length).toBeGreaterThan(0);
  });

  it("tokenizes like the training vocabulary (no BOS, byte fallback for newline)", () => {
    for (const prefix of reference.prefixes) {
      const expected = prefix.bos ? prefix.tokens.slice(1) : prefix.tokens;
      expect(Array.from(model.tokenize(prefix.text))).toEqual(expected);
    }
    expect(model.tokens.bos).toBe(1);
    expect(model.tokens.eos).toBe(2);
    // characters the model never saw fall back to bytes instead of failing
    expect(model.tokenize("é€").length).toBe(5);
  });

  it("gives the next-token probabilities PyTorch gave", async () => {
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      for (const prefix of reference.prefixes) {
        const sequence = context.getSequence();
        const iterator = sequence.evaluateWithMetadata(
          prefix.tokens as Token[],
          { probabilities: true },
          { temperature: 1, topK: 0, topP: 1, minP: 0 },
        );
        const first = await iterator.next();
        await iterator.return();
        expect(first.done).toBe(false);
        const probabilities = first.value!.probabilities;
        for (const [token, p] of Object.entries(prefix.probabilities)) {
          expect(
            probabilities.get(Number(token) as Token) ?? 0,
            `${JSON.stringify(prefix.text)} token ${token}`,
          ).toBeCloseTo(p, 2);
          expect(Math.abs((probabilities.get(Number(token) as Token) ?? 0) - p)).toBeLessThan(2e-3);
        }
        sequence.dispose();
      }
    } finally {
      await context.dispose();
    }
  }, 60_000);

  it("answers in the trained format and stops after the answer", async () => {
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      const [p] = generateArithmeticProblems({ level: 1, count: 1, seed: 1 });
      const text = await completion.generateCompletion(p!.prompt, { temperature: 0, maxTokens: 64 });
      expect(text).toMatch(/^\d+[+\-*]\d+=\d+\nA: \d+$/);
      expect(arithmeticTask.extractAnswer(text)).toBeDefined();
    } finally {
      await context.dispose();
    }
  }, 60_000);
});
