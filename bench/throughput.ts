/**
 * Throughput of the embedded llama.cpp backend on the bundled model, measured side by side:
 * parallel sequences vs one sample after another, a reused KV prefix vs a re-evaluated one,
 * and how tokens/s grows with the number of sequences decoded together.
 *
 *   npx tsx bench/throughput.ts [--model PATH] [--threads N] [--repeats N]
 *
 * The bundled model is so small (weights fit in cache) that a batch row costs about as much as
 * a lone token; to see batching on a model whose decoding streams its weights from memory:
 *
 *   npx tsx bench/random-gguf.ts /tmp/random-27m.gguf --embedding 512 --layers 8
 *   npx tsx bench/throughput.ts --model /tmp/random-27m.gguf --repeats 1
 */
import { parseArgs } from "node:util";
import { createLlamaCppBackend, defaultModelPath } from "../src/backends/embedded.js";
import type { LlamaCppBackend } from "../src/backends/llamacpp.js";
import type { GenerateRequest, GenerateResponse } from "../src/core/backend.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: defaultModelPath() },
    threads: { type: "string" },
    repeats: { type: "string", default: "3" },
  },
});
const modelPath = values.model;
const threads = values.threads ? Number(values.threads) : undefined;
const repeats = Math.max(1, Number(values.repeats));

const PROMPT = "Q: 5+12*3-7*4=?\n";
const SAMPLES = 16;
const MAX_TOKENS = 64;

interface Measured {
  ms: number;
  response: GenerateResponse;
}

async function timed(backend: LlamaCppBackend, request: GenerateRequest): Promise<Measured> {
  const started = performance.now();
  const response = await backend.generate(request);
  return { ms: performance.now() - started, response };
}

/** The run with the median wall time of `repeats` runs (the machine may be shared). */
async function median(run: () => Promise<Measured>): Promise<Measured> {
  const runs: Measured[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await run());
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(runs.length / 2)]!;
}

const tokensPerSecond = (m: Measured) => (m.response.usage.completionTokens / m.ms) * 1000;
const fixed = (x: number, digits = 1) => x.toFixed(digits);
const open = (sequences: number, prefixCache: "copy" | "sequence" | "off" = "copy") =>
  createLlamaCppBackend({ modelPath, mode: "completion", sequences, prefixCache, threads });

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padStart(widths[c]!)).join("  ")).join("\n");
}

// 1. The same 16 seeded samples: 16 sequences decoding together vs 1 sequence, one after another.
const parallelBackend = await open(SAMPLES);
const serialBackend = await open(1);
console.log(
  `model ${parallelBackend.id}: ${parallelBackend.parameterCount} parameters, context ${parallelBackend.contextSize} per sequence, KV copy ${parallelBackend.kvCopySupported ? "available" : "unavailable"}`,
);
const sampleRequest: GenerateRequest = {
  prompt: PROMPT,
  n: SAMPLES,
  temperature: 1,
  seed: 1234,
  maxTokens: MAX_TOKENS,
};
await parallelBackend.generate({ ...sampleRequest, n: 2 }); // warm-up
await serialBackend.generate({ ...sampleRequest, n: 1 });
const parallel = await median(() => timed(parallelBackend, sampleRequest));
const serial = await median(() => timed(serialBackend, sampleRequest));
const sameSamples =
  JSON.stringify(parallel.response.completions.map((c) => c.text)) ===
  JSON.stringify(serial.response.completions.map((c) => c.text));
console.log(
  `\n${SAMPLES} samples of one prompt (temperature 1, seed 1234, max ${MAX_TOKENS} tokens, median of ${repeats}):`,
);
console.log(
  table([
    ["decoding", "wall ms", "tokens", "tokens/s"],
    [
      `${SAMPLES} parallel sequences`,
      fixed(parallel.ms),
      parallel.response.usage.completionTokens,
      fixed(tokensPerSecond(parallel)),
    ],
    [
      "1 sequence, one by one",
      fixed(serial.ms),
      serial.response.usage.completionTokens,
      fixed(tokensPerSecond(serial)),
    ],
  ]),
);
console.log(`identical samples both ways: ${sameSamples ? "yes" : "no"}`);
await serialBackend.close();

// 2. Continuing from a shared prefix (prompt + a partial solution), as step-wise search does.
const greedy = await parallelBackend.generate({
  prompt: PROMPT,
  n: 1,
  temperature: 0,
  maxTokens: MAX_TOKENS,
});
const steps = greedy.completions[0]!.text.split("\n");
const partial = `${steps.slice(0, Math.max(1, steps.length - 2)).join("\n")}\n`;
const continuationRequest: GenerateRequest = {
  prompt: PROMPT,
  continuation: partial,
  n: 4,
  temperature: 1,
  maxTokens: 16,
};
const CALLS = 8;
const prefixRows: (string | number)[][] = [
  ["shared prefix", "wall ms", "prompt tokens evaluated", "reused", "copied", "tokens/s"],
];
for (const mode of ["off", "sequence", "copy"] as const) {
  const backend = await open(4, mode);
  await backend.generate({ prompt: "Q: 1+1=?\n", n: 4, maxTokens: 4, seed: 1 }); // warm-up, another prompt
  const before = backend.stats;
  const started = performance.now();
  let evaluated = 0;
  let completion = 0;
  for (let call = 0; call < CALLS; call++) {
    const { usage } = await backend.generate({ ...continuationRequest, seed: 77 + call });
    evaluated += usage.promptTokens;
    completion += usage.completionTokens;
  }
  const ms = performance.now() - started;
  const after = backend.stats;
  const promptTokensReused = after.promptTokensReused - before.promptTokensReused;
  const promptTokensCopied = after.promptTokensCopied - before.promptTokensCopied;
  const label = { off: "re-evaluated", sequence: "reused in place", copy: "reused + KV copy" }[mode];
  prefixRows.push([
    label,
    fixed(ms),
    evaluated,
    promptTokensReused,
    promptTokensCopied,
    fixed((completion / ms) * 1000),
  ]);
  await backend.close();
}
const prefixTokens = parallelBackend.model.tokenize(PROMPT + partial, false).length + 1;
console.log(
  `\nprefix continuation: ${CALLS} calls x n=4 on 4 sequences, continuing a ${prefixTokens}-token prefix (prompt + ${partial.split("\n").length - 1} solution lines):`,
);
console.log(table(prefixRows));

// 3. How far batching goes: n samples on n sequences of one context.
const batchBackend = await open(32);
await batchBackend.generate({ ...sampleRequest, n: 32, maxTokens: 8 }); // warm-up
const batchRows: (string | number)[][] = [["sequences", "wall ms", "tokens", "tokens/s", "vs 1"]];
let single = 0;
for (const n of [1, 2, 4, 8, 16, 32]) {
  const m = await median(() => timed(batchBackend, { ...sampleRequest, n }));
  const rate = tokensPerSecond(m);
  if (n === 1) single = rate;
  batchRows.push([
    n,
    fixed(m.ms),
    m.response.usage.completionTokens,
    fixed(rate),
    `${fixed(rate / single, 2)}x`,
  ]);
}
console.log("\nbatching: tokens/s by sequences decoded together (same request, n = sequences):");
console.log(table(batchRows));
await batchBackend.close();
await parallelBackend.close();

console.log(
  `\nparallel speedup (${SAMPLES} sequences vs one by one): ${fixed(tokensPerSecond(parallel) / tokensPerSecond(serial), 2)}x`,
);
