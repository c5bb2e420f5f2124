/**
 * Engine speed for tree search on the embedded llama.cpp backend, measured side by side:
 *
 * 1. the same beam search with shared-prefix KV reuse (`prefixCache: "copy"`: a beam's
 *    children continue from KV state its parent left, siblings get it by KV copy) against the
 *    search re-evaluating every prefix (`prefixCache: "off"`), on the bundled model and on a
 *    random-weight GGUF whose prompt costs what a real model's does;
 * 2. 16 samples decoded as parallel sequences against one after another, on a random-weight
 *    GGUF of over 100M parameters.
 *
 *   npx tsx bench/tree-speed.ts [--model PATH.gguf] [--threads N] [--keep]
 *
 * Without --model it writes the random GGUF to a temporary file (about 430 MB) and removes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLlamaCppBackend, defaultModelPath } from "../src/backends/embedded.js";
import type { LlamaCppBackend } from "../src/backends/llamacpp.js";
import type { GenerateRequest } from "../src/core/backend.js";
import { hashText } from "../src/core/random.js";
import type { Problem, Result } from "../src/core/types.js";
import type { Verifier } from "../src/core/verifier.js";
import { arithmeticTask, generateArithmeticProblems, toProblem } from "../src/index.js";
import { run } from "../src/run.js";
import { stepCheckerVerifier } from "../src/verifiers/step-checker.js";
import { random107m, randomLlamaGguf } from "./random-gguf.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const threads = values.threads ? Number(values.threads) : undefined;
const fixed = (x: number, digits = 1) => x.toFixed(digits);

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padStart(widths[c]!)).join("  ")).join("\n");
}

/** A process verifier for noise text: a fixed pseudo-random score per step, so both runs rank alike. */
const hashVerifier: Verifier = {
  name: "hash",
  score: async (_problem, candidates) => candidates.map((c) => hashText(c.text) / 2 ** 32),
  scoreSteps: async (_problem, prefix, steps) => steps.map((s) => hashText(prefix + s) / 2 ** 32),
};

interface SearchRun {
  ms: number;
  results: Result[];
  stats: LlamaCppBackend["stats"];
}

async function beamSearchRuns(
  modelPath: string,
  prefixCache: "copy" | "off",
  problems: readonly Problem[],
  options: Record<string, unknown>,
  verifier: Verifier,
  maxTokens: number,
  sequences: number,
): Promise<SearchRun> {
  const backend = await createLlamaCppBackend({
    modelPath,
    mode: "completion",
    sequences,
    prefixCache,
    threads,
  });
  await backend.generate({ prompt: "Q: 1+1=?\n", n: 2, maxTokens: 2, seed: 1 }); // warm-up
  const before = backend.stats;
  const started = performance.now();
  const results: Result[] = [];
  for (const [i, problem] of problems.entries())
    results.push(
      await run({
        problem,
        backend,
        strategy: "beam-search",
        options,
        verifier,
        sampling: { temperature: 1, maxTokens, seed: 700 + i },
      }),
    );
  const ms = performance.now() - started;
  const after = backend.stats;
  await backend.close();
  const stats = Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
  ) as unknown as SearchRun["stats"];
  return { ms, results, stats };
}

function compareSearch(label: string, reuse: SearchRun, off: SearchRun): number {
  const rate = (r: SearchRun) => (r.stats.completionTokens / r.ms) * 1000;
  const sameText =
    JSON.stringify(reuse.results.map((r) => r.candidates.map((c) => c.text))) ===
    JSON.stringify(off.results.map((r) => r.candidates.map((c) => c.text)));
  console.log(`\n${label}`);
  console.log(
    table([
      ["prefix", "wall ms", "generated", "prompt evaluated", "reused", "copied", "generated/s"],
      ...(
        [
          ["KV reuse", reuse],
          ["re-evaluated", off],
        ] as const
      ).map(([name, r]) => [
        name,
        fixed(r.ms),
        r.stats.completionTokens,
        r.stats.promptTokensEvaluated,
        r.stats.promptTokensReused,
        r.stats.promptTokensCopied,
        fixed(rate(r)),
      ]),
    ]),
  );
  console.log(`same search trees both ways: ${sameText ? "yes" : "no (batch shapes round differently)"}`);
  // Per generated token, so slightly different trees still compare fairly.
  return rate(reuse) / rate(off);
}

// 1a. The bundled model: arithmetic problems, the step checker as PRM.
const tinyProblems = generateArithmeticProblems({ level: 5, count: 4, seed: 3 }).map(toProblem);
const tinyOptions = { n: 16, beamWidth: 4 };
const tinyReuse = await beamSearchRuns(
  defaultModelPath(),
  "copy",
  tinyProblems,
  tinyOptions,
  stepCheckerVerifier(),
  96,
  16,
);
const tinyOff = await beamSearchRuns(
  defaultModelPath(),
  "off",
  tinyProblems,
  tinyOptions,
  stepCheckerVerifier(),
  96,
  16,
);
const tinyRatio = compareSearch(
  `beam search n=16 beamWidth=4 on the bundled model (0.9M parameters), 4 level-5 problems:`,
  tinyReuse,
  tinyOff,
);

// 1b and 2: a random-weight model of over 100M parameters (embedding 768, 14 layers).
let dir: string | undefined;
let modelPath = values.model;
if (!modelPath) {
  dir = mkdtempSync(join(tmpdir(), "reckon-tree-speed-"));
  modelPath = join(dir, "random-107m.gguf");
  writeFileSync(modelPath, randomLlamaGguf(random107m));
}
try {
  // A long shared prompt (few-shot style) and short steps: what a search re-evaluates without reuse.
  const longPrompt = `${"Solve step by step. ".repeat(6)}\nQ: 12*7+45-9*3+16=?\n`;
  const noiseProblem: Problem = { id: "noise", prompt: longPrompt, task: arithmeticTask };
  const bigOptions = { n: 8, beamWidth: 2, stepTokens: 6, maxDepth: 4, delimiter: "\n\n\n" };
  const bigReuse = await beamSearchRuns(modelPath, "copy", [noiseProblem], bigOptions, hashVerifier, 64, 8);
  const bigOff = await beamSearchRuns(modelPath, "off", [noiseProblem], bigOptions, hashVerifier, 64, 8);
  const bigRatio = compareSearch(
    `beam search n=8 beamWidth=2, 4 steps of 6 tokens, on a random ${modelPath.split("/").at(-1)}:`,
    bigReuse,
    bigOff,
  );

  // 2. 16 samples, parallel sequences against one by one.
  const parallelBackend = await createLlamaCppBackend({
    modelPath,
    mode: "completion",
    sequences: 16,
    threads,
  });
  const serialBackend = await createLlamaCppBackend({ modelPath, mode: "completion", sequences: 1, threads });
  console.log(`\n${parallelBackend.id}: ${parallelBackend.parameterCount} parameters`);
  const request: GenerateRequest = {
    prompt: "Q: 5+12*3-7*4=?\n",
    n: 16,
    temperature: 1,
    seed: 1234,
    maxTokens: 24,
  };
  await parallelBackend.generate({ ...request, n: 2, maxTokens: 2 });
  await serialBackend.generate({ ...request, n: 1, maxTokens: 2 });
  const timed = async (backend: LlamaCppBackend) => {
    const started = performance.now();
    const response = await backend.generate(request);
    const ms = performance.now() - started;
    return {
      ms,
      tokens: response.usage.completionTokens,
      rate: (response.usage.completionTokens / ms) * 1000,
    };
  };
  const parallel = await timed(parallelBackend);
  const serial = await timed(serialBackend);
  await parallelBackend.close();
  await serialBackend.close();
  console.log("16 samples of 24 tokens:");
  console.log(
    table([
      ["decoding", "wall ms", "tokens", "tokens/s"],
      ["16 parallel sequences", fixed(parallel.ms), parallel.tokens, fixed(parallel.rate)],
      ["1 sequence, one by one", fixed(serial.ms), serial.tokens, fixed(serial.rate)],
    ]),
  );
  console.log(
    `\nbeam search, KV reuse vs re-evaluated prefixes (generated tokens/s): bundled model ${fixed(tinyRatio, 2)}x, random 100M+ model ${fixed(bigRatio, 2)}x (target 3x)`,
  );
  console.log(
    `16 parallel sequences vs one by one (tokens/s), random 100M+ model: ${fixed(parallel.rate / serial.rate, 2)}x (target 4x)`,
  );
} finally {
  if (dir && !values.keep) rmSync(dir, { recursive: true, force: true });
}
