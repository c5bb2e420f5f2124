/**
 * The embedded engine against llama.cpp itself, side by side on the same GGUF and threads:
 * `llama-batched-bench` (llama.cpp's own batched decoding, random tokens, no sampling) at batch 1
 * and batch 16, and reckon's embedded backend drawing 16 seeded samples of one prompt, one by
 * one on one sequence and as 16 parallel sequences, each to the full length (`ignoreEos`) as
 * llama-batched-bench's are. On a random-weight 107M-parameter F32 GGUF
 * (the one of `bench/tree-speed.ts`) and on its Q8_0 copy made with `llama-quantize`.
 *
 *   npx tsx bench/engine-vs-llamacpp.ts [--threads 2] [--tokens 64] [--runs 1] [--serial 16]
 *     [--formats F32,Q8_0] [--bin DIR] [--model PATH.gguf] [--keep] [--kv-cache auto|unified|per-sequence] [--stop-at-eos]
 *
 * Needs llama.cpp's programs: `node tools/build-llama-server.mjs` builds them once per machine
 * (or pass --bin). Without --model it writes the random GGUF (about 430 MB) to a temporary
 * folder and removes it at the end. Each run measures every engine once per model, in turn, so
 * a busy machine slows both sides alike: the ratios are the figures to read.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLlamaCppBackend } from "../src/backends/embedded.js";
import type { LlamaCppBackend } from "../src/backends/llamacpp.js";
import type { GenerateRequest } from "../src/core/backend.js";
import { random107m, randomLlamaGguf } from "./random-gguf.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    tokens: { type: "string", default: "64" },
    samples: { type: "string", default: "16" },
    /** Samples drawn one by one (fewer on a busy machine: the rate is per token either way). */
    serial: { type: "string" },
    runs: { type: "string", default: "1" },
    /** Which of the two files to measure. */
    formats: { type: "string", default: "F32,Q8_0" },
    bin: { type: "string" },
    model: { type: "string" },
    keep: { type: "boolean", default: false },
    /** The embedded backend's KV layout (its `kvCache` option). */
    "kv-cache": { type: "string", default: "auto" },
    /** Let samples end at their end of text, as real ones do, instead of all running to --tokens. */
    "stop-at-eos": { type: "boolean", default: false },
  },
});
const kvCache = values["kv-cache"] as "auto" | "unified" | "per-sequence";
const threads = Number(values.threads);
const tokens = Number(values.tokens);
const samples = Number(values.samples);
const serialSamples = Number(values.serial ?? values.samples);
const runs = Math.max(1, Number(values.runs));
const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padStart(widths[c]!)).join("  ")).join("\n");
}

function binFolder(): string {
  if (values.bin) return values.bin;
  const found = spawnSync(process.execPath, ["tools/build-llama-server.mjs"], { encoding: "utf8" });
  const folder = found.stdout.trim();
  if (found.status !== 0 || !folder)
    throw new Error(
      `llama.cpp's programs are not built: ${found.stderr.trim() || "run node tools/build-llama-server.mjs"}`,
    );
  return folder;
}

function runTool(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stderr}`,
    );
  return result.stdout;
}

/** llama-batched-bench's text-generation tokens/s by batch size (its S_TG column). */
function batchedBench(bin: string, modelPath: string, prompt: number): Map<number, number> {
  const args = [
    "-m",
    modelPath,
    "-t",
    String(threads),
    "-tb",
    String(threads),
    "-c",
    String(samples * (prompt + tokens) + 256),
    "-npp",
    String(prompt),
    "-ntg",
    String(tokens),
    "-npl",
    `1,${samples}`,
    "--output-format",
    "jsonl",
  ];
  let out: string;
  try {
    out = runTool(join(bin, "llama-batched-bench"), args);
  } catch (error) {
    // Its repacked Q8_0 kernels (AVX-512/AMX) crash on some CPUs: measured without repacking then.
    if (!String(error).includes("SIGSEGV")) throw error;
    console.error("llama-batched-bench crashed; measuring again with --no-repack");
    out = runTool(join(bin, "llama-batched-bench"), [...args, "--no-repack"]);
  }
  const speeds = new Map<number, number>();
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const row = JSON.parse(line) as { pl: number; speed_tg: number };
    speeds.set(row.pl, row.speed_tg);
  }
  if (!speeds.has(1) || !speeds.has(samples))
    throw new Error(`unexpected llama-batched-bench output:\n${out}`);
  return speeds;
}

interface Embedded {
  rate: number;
  tokens: number;
  ms: number;
  /** Share of the wall time spent in llama.cpp's decode calls (undefined when not measurable). */
  decodeShare: number | undefined;
  /** llama.cpp decode calls: one per step of the parallel sequences still going. */
  steps: number | undefined;
}

/** Times native decode calls through node-llama-cpp's internal binding, where it is reachable. */
function decodeTimer(backend: LlamaCppBackend): { reset(): void; ms(): number; calls(): number } | undefined {
  const native = (backend.context as unknown as { _ctx?: { decodeBatch?: () => Promise<unknown> } })._ctx;
  if (typeof native?.decodeBatch !== "function") return undefined;
  const decode = native.decodeBatch.bind(native);
  let total = 0;
  let calls = 0;
  Object.defineProperty(native, "decodeBatch", {
    configurable: true,
    writable: true,
    value: async () => {
      const started = performance.now();
      try {
        return await decode();
      } finally {
        total += performance.now() - started;
        calls++;
      }
    },
  });
  return {
    reset: () => {
      total = 0;
      calls = 0;
    },
    ms: () => total,
    calls: () => calls,
  };
}

async function embedded(modelPath: string, sequences: number, request: GenerateRequest): Promise<Embedded> {
  const backend = await createLlamaCppBackend({
    modelPath,
    mode: "completion",
    sequences,
    threads,
    kvCache,
  });
  try {
    await backend.generate({ ...request, n: Math.min(2, sequences), maxTokens: 4, seed: 1 }); // warm-up
    const timer = decodeTimer(backend);
    timer?.reset();
    const started = performance.now();
    const response = await backend.generate(request);
    const ms = performance.now() - started;
    const generated = response.usage.completionTokens;
    return {
      rate: (generated / ms) * 1000,
      tokens: generated,
      ms,
      decodeShare: timer ? timer.ms() / ms : undefined,
      steps: timer?.calls(),
    };
  } finally {
    await backend.close();
  }
}

const bin = binFolder();
let dir: string | undefined;
let f32 = values.model;
if (!f32) {
  dir = mkdtempSync(join(tmpdir(), "reckon-engine-"));
  f32 = join(dir, "random-107m-f32.gguf");
  writeFileSync(f32, randomLlamaGguf(random107m));
}
// The quantized copy goes next to the F32 file when that is temporary, else to its own folder.
const quantDir = dir ?? mkdtempSync(join(tmpdir(), "reckon-engine-"));
const q8 = join(quantDir, "random-107m-q8_0.gguf");
try {
  const formats = values.formats.split(",");
  if (formats.includes("Q8_0")) runTool(join(bin, "llama-quantize"), [f32, q8, "Q8_0", String(threads)]);
  const request: GenerateRequest = {
    prompt: "Q: 5+12*3-7*4=?\n",
    n: samples,
    temperature: 1,
    seed: 1234,
    maxTokens: tokens,
    // Every sample runs to maxTokens, as every sequence of llama-batched-bench does: equal work.
    ignoreEos: !values["stop-at-eos"],
  };
  const probe = await createLlamaCppBackend({
    modelPath: f32,
    mode: "completion",
    sequences: 1,
    threads,
    kvCache,
  });
  const promptTokens = probe.model.tokenize(request.prompt as string, false).length + 1;
  console.log(
    `${probe.id}: ${probe.parameterCount} parameters; ${threads} threads, ${samples} samples of ${tokens} tokens, a ${promptTokens}-token prompt; reckon's KV cache ${probe.kvCache}; llama.cpp programs in ${bin}`,
  );
  await probe.close();

  const rows: (string | number)[][] = [
    [
      "run",
      "model",
      "load",
      "llama.cpp b1",
      `llama.cpp b${samples}`,
      "reckon 1 by 1",
      `reckon ${samples} par.`,
      "decode share",
      `reckon/llama.cpp b${samples}`,
      "reckon 1x1/b1",
      "ms/step reckon (tok/step)",
      `ms/step llama.cpp b${samples}`,
      "step-time ratio",
    ],
  ];
  const ratios = new Map<string, number[]>();
  for (let run = 1; run <= runs; run++) {
    for (const [label, modelPath] of [
      ["F32", f32],
      ["Q8_0", q8],
    ] as const) {
      if (!formats.includes(label)) continue;
      const load = loadavg()[0]!;
      const speeds = batchedBench(bin, modelPath, promptTokens);
      console.error(
        `run ${run} ${label}: llama-batched-bench ${[...speeds].map(([b, r]) => `b${b} ${fixed(r)}`).join(", ")} tokens/s`,
      );
      const parallel = await embedded(modelPath, samples, request);
      console.error(`run ${run} ${label}: embedded parallel ${fixed(parallel.rate)} tokens/s`);
      const serial = await embedded(modelPath, 1, { ...request, n: serialSamples });
      const ratio = parallel.rate / speeds.get(samples)!;
      ratios.set(label, [...(ratios.get(label) ?? []), ratio]);
      const stepMs = parallel.steps ? parallel.ms / parallel.steps : Number.NaN;
      const llamaStepMs = (samples * 1000) / speeds.get(samples)!;
      rows.push([
        run,
        label,
        fixed(load),
        fixed(speeds.get(1)!),
        fixed(speeds.get(samples)!),
        fixed(serial.rate),
        `${fixed(parallel.rate)} (${parallel.tokens} tok)`,
        parallel.decodeShare === undefined ? "-" : `${fixed(parallel.decodeShare * 100, 0)}%`,
        fixed(ratio, 2),
        fixed(serial.rate / speeds.get(1)!, 2),
        `${fixed(stepMs)} (${parallel.steps ? fixed(parallel.tokens / parallel.steps) : "-"})`,
        fixed(llamaStepMs),
        fixed(llamaStepMs / stepMs, 2),
      ]);
      console.log(rows.at(-1)!.join("  "));
    }
  }
  console.log(`\ntokens/s of text generation (load: 1-minute load average when the row started):`);
  console.log(table(rows));
  for (const [label, values] of ratios) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    const median =
      sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
    console.log(
      `${label}: reckon's ${samples} parallel sequences / llama-batched-bench batch ${samples} = ${sorted.map((r) => fixed(r, 2)).join(", ")} (median ${fixed(median, 2)}; target 0.8)`,
    );
  }
} finally {
  if (values.keep) console.log(`kept ${quantDir}`);
  else rmSync(quantDir, { recursive: true, force: true });
}
