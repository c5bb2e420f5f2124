/**
 * What adaptive compute buys on the bundled model's arithmetic task, tuned on a dev split and
 * measured on a disjoint test split (different generator seeds, no shared expression):
 *
 *   1. `auto` (probe, difficulty, fitted policy) against majority@64: tokens per question, and
 *      the ratio of majority@64's tokens to auto's, with both accuracies;
 *   2. esc, adaptive-consistency and deepconf against fixed-n self-consistency (n = 64):
 *      samples and tokens per question, and the accuracy difference;
 *   3. batch allocation against uniform self-consistency at the same token budget;
 *   4. first-finish against waiting for all n, wall-clock, on the bundled model and on a
 *      loopback OpenAI server that decodes at a fixed speed per token.
 *
 *   npx tsx bench/adaptive-evidence.ts [--dev-per-level 20] [--test-per-level 20] [--json]
 *
 * Every strategy runs through `run()` over one in-memory sample cache keyed like the bench's
 * (request digest, sample index), so all configurations see the same draws of each problem and
 * usage is each draw's share of the call that made it, whether drawn or served.
 */
import { parseArgs } from "node:util";
import { createDefaultBackend } from "../src/backends/embedded.js";
import { createOpenAIBackend } from "../src/backends/openai.js";
import { allocateBatch } from "../src/control/allocate.js";
import { crossValidate, fitPolicy, type PolicyRow } from "../src/control/policy.js";
import { type Backend, type BackendMiddleware, forwardBackend } from "../src/core/backend.js";
import { requestDigest } from "../src/core/draws.js";
import {
  addUsage,
  type Completion,
  emptyUsage,
  type Problem,
  type Result,
  totalTokens,
  type Usage,
} from "../src/core/types.js";
import { run } from "../src/run.js";
import { arithmeticTask, generateArithmeticProblems, toProblem } from "../src/tasks/arithmetic.js";
import { startOpenAITestServer } from "../test/support/openai-test-server.js";

const { values } = parseArgs({
  options: {
    "dev-per-level": { type: "string", default: "16" },
    "test-per-level": { type: "string", default: "16" },
    "latency-problems": { type: "string", default: "20" },
    json: { type: "boolean", default: false },
  },
});
const levels = [1, 2, 3, 4, 5];
const started = performance.now();
const log = (text: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)}s] ${text}\n`);

function split(seed: number, perLevel: number, exclude: Set<string>, tag: string): Problem[] {
  return levels.flatMap((level) =>
    generateArithmeticProblems({ level, count: perLevel, seed })
      .filter((p) => !exclude.has(p.prompt))
      .map((p) => ({ ...toProblem(p), id: `${tag}-${p.id}`, meta: { level } })),
  );
}
const dev = split(101, Number(values["dev-per-level"]), new Set(), "dev");
const test = split(
  202,
  Number(values["test-per-level"]),
  new Set(dev.map((p) => p.prompt as string)),
  "test",
);

/** Draws by (digest, index): the second configuration to ask for a draw gets the first one's. */
function memoryCache(): BackendMiddleware {
  const draws = new Map<string, { completion: Completion; usage: Usage }>();
  return (next: Backend) =>
    forwardBackend(next, {
      async generate(request) {
        const digest = requestDigest(request);
        const offset = request.sampleOffset ?? 0;
        const key = (i: number) => `${digest}:${offset + i}`;
        const missing = Array.from({ length: request.n }, (_, i) => i).filter((i) => !draws.has(key(i)));
        if (missing.length > 0) {
          // Contiguous by construction: strategies ask for the next indices of a digest.
          const first = missing[0]!;
          const response = await next.generate({
            ...request,
            n: missing.length,
            sampleOffset: offset + first,
          });
          response.completions.forEach((completion, j) => {
            const u = response.usage;
            const samples = response.completions.length;
            draws.set(key(first + j), {
              completion,
              usage: {
                promptTokens: u.promptTokens / samples,
                completionTokens: completion.tokens,
                calls: u.calls / samples,
                latencyMs: u.latencyMs / samples,
                estimated: u.estimated,
              },
            });
          });
        }
        const served = Array.from({ length: request.n }, (_, i) => draws.get(key(i))!);
        for (const [i, d] of served.entries()) request.onSample?.(d.completion, i);
        return {
          completions: served.map((d) => d.completion),
          usage: served.reduce((sum, d) => addUsage(sum, d.usage), emptyUsage()),
        };
      },
    });
}

const backend = await createDefaultBackend({ threads: 1 });
const cache = memoryCache();
const sampling = { temperature: 1, topK: 0, topP: 1, maxTokens: 96, logprobs: true, topLogprobs: 5 };
const seedOf = (problem: Problem) => Number.parseInt(problem.id.replace(/\D/g, ""), 10) || 0;

interface Row {
  config: string;
  problem: Problem;
  result: Result;
  correct: boolean;
}

async function runConfig(
  config: string,
  strategy: string,
  options: Record<string, unknown>,
  problems: Problem[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const problem of problems) {
    const result = await run({
      problem,
      backend,
      strategy,
      options,
      sampling: { ...sampling, seed: seedOf(problem) },
      middleware: [cache],
    });
    rows.push({
      config,
      problem,
      result,
      correct: (await problem.task.grade(result.answer, problem)).correct,
    });
  }
  return rows;
}

const summary = (rows: Row[]) => ({
  accuracy: rows.filter((r) => r.correct).length / rows.length,
  tokens: rows.reduce((s, r) => s + totalTokens(r.result.usage), 0) / rows.length,
  samples:
    rows.reduce(
      (s, r) => s + ((r.result.detail?.samples as number | undefined) ?? r.result.candidates.length),
      0,
    ) / rows.length,
});

// --- dev split: the configurations a policy may choose from -------------------------------
const devConfigs: [string, string, Record<string, unknown>][] = [
  ["self-consistency n=4", "self-consistency", { n: 4 }],
  ["self-consistency n=8", "self-consistency", { n: 8 }],
  ["self-consistency n=16", "self-consistency", { n: 16 }],
  ["self-consistency n=32", "self-consistency", { n: 32 }],
  ["self-consistency n=64", "self-consistency", { n: 64 }],
  ["esc", "esc", { windowSize: 8, maxSamples: 64 }],
  ["esc w=4", "esc", { windowSize: 4, maxSamples: 64 }],
  ["adaptive-consistency", "adaptive-consistency", {}],
  ["adaptive-consistency t=0.9", "adaptive-consistency", { threshold: 0.9 }],
];
log(`dev split: ${dev.length} problems, test split: ${test.length} problems`);
const devRows: Row[] = [];
for (const [config, strategy, options] of [...devConfigs].reverse()) {
  devRows.push(...(await runConfig(config, strategy, options, dev)));
  log(`dev ${config}: ${JSON.stringify(summary(devRows.filter((r) => r.config === config)))}`);
}
const devIndex = new Map(dev.map((p, i) => [p.id, i]));
const policyRows: PolicyRow[] = devRows.map((r) => ({
  problemId: r.problem.id,
  config: r.config,
  strategy: devConfigs.find((c) => c[0] === r.config)![1],
  options: devConfigs.find((c) => c[0] === r.config)![2],
  correct: r.correct,
  usage: r.result.usage,
  // Every configuration here samples one request from its first index: candidate i is draw i,
  // so the fit knows which of a configuration's draws the probe already made.
  candidates: r.result.candidates.map((c, i) => ({ ...c, draw: devIndex.get(r.problem.id)! * 10_000 + i })),
}));
const policy = fitPolicy(policyRows, {
  task: arithmeticTask,
  model: backend.id,
  probe: "self-consistency n=4",
  objective: { kind: "match", config: "self-consistency n=64" },
  bins: 4,
  minProblems: Math.min(20, dev.length),
});
const heldOut = crossValidate(policyRows, {
  task: arithmeticTask,
  model: backend.id,
  probe: "self-consistency n=4",
  objective: { kind: "match", config: "self-consistency n=64" },
  bins: 4,
});
log(`tuner on dev: in-sample ${JSON.stringify(policy.fittedOn)}; held-out ${JSON.stringify(heldOut)}`);
log(
  `policy: ${policy.bins.map((b, i) => `bin ${i} (${b.problems}): ${b.use === "probe" ? "probe" : b.use.config}`).join("; ")}; features ${policy.difficulty.features.join(",")}`,
);

// --- test split ----------------------------------------------------------------------------
const testConfigs: [string, string, Record<string, unknown>][] = [
  ["self-consistency n=64", "self-consistency", { n: 64 }],
  ["auto", "auto", { policy }],
  ["esc", "esc", { windowSize: 8, maxSamples: 64 }],
  ["adaptive-consistency", "adaptive-consistency", { maxSamples: 64 }],
  ["deepconf offline", "deepconf", { mode: "offline", n: 64, keep: 0.9 }],
  ["deepconf online", "deepconf", { mode: "online", n: 64, keep: 0.9, confidence: "sampled", window: 8 }],
];
const results: Record<string, ReturnType<typeof summary>> = {};
for (const [config, strategy, options] of testConfigs) {
  results[config] = summary(await runConfig(config, strategy, options, test));
  log(`test ${config}: ${JSON.stringify(results[config])}`);
}
const base = results["self-consistency n=64"]!;
const versus = (config: string) => {
  const r = results[config]!;
  return {
    ...r,
    tokenRatio: base.tokens / r.tokens,
    samplesSaved: 1 - r.samples / base.samples,
    accuracyDelta: r.accuracy - base.accuracy,
  };
};

// --- batch allocation at the token budget of uniform self-consistency n=8 --------------------
const uniform = await runConfig("self-consistency n=8", "self-consistency", { n: 8 }, test);
const uniformSummary = summary(uniform);
const budget = Math.round(uniformSummary.tokens * test.length);
const allocation = await allocateBatch({
  problems: test.map((p) => p),
  backend,
  // Seeds are per problem in the rest of the bench; one shared seed here would draw other samples.
  sampling: { ...sampling, seed: 0 },
  tokenBudget: budget,
  initialSamples: 4,
  step: 4,
  middleware: [cache],
});
let allocatedRight = 0;
for (const [i, answer] of allocation.answers.entries())
  if ((await test[i]!.task.grade(answer.answer, test[i]!)).correct) allocatedRight++;
const uniformSeed0 = summary(
  await (async () => {
    const rows: Row[] = [];
    for (const problem of test) {
      const result = await run({
        problem,
        backend,
        strategy: "self-consistency",
        options: { n: 8 },
        sampling: { ...sampling, seed: 0 },
        middleware: [cache],
      });
      rows.push({
        config: "sc8",
        problem,
        result,
        correct: (await problem.task.grade(result.answer, problem)).correct,
      });
    }
    return rows;
  })(),
);
log(`allocation: ${allocatedRight}/${test.length} with ${totalTokens(allocation.usage)} tokens of ${budget}`);

// --- first-finish latency ------------------------------------------------------------------
async function latency(
  target: Backend,
  problems: Problem[],
  strategy: string,
  n: number,
  samplingFor: (p: Problem) => object,
) {
  let ms = 0;
  let tokens = 0;
  let right = 0;
  for (const problem of problems) {
    const t = performance.now();
    const result = await run({
      problem,
      backend: target,
      strategy,
      options: { n },
      sampling: samplingFor(problem),
    });
    ms += performance.now() - t;
    tokens += totalTokens(result.usage);
    if ((await problem.task.grade(result.answer, problem)).correct) right++;
  }
  return {
    msPerQuestion: ms / problems.length,
    tokens: tokens / problems.length,
    accuracy: right / problems.length,
  };
}
const latencySet = test
  .filter((p) => (p.meta?.level as number) >= 3)
  .slice(0, Number(values["latency-problems"]));
const plain = { temperature: 1, topK: 0, topP: 1, maxTokens: 96 };
const embeddedAll = await latency(backend, latencySet, "self-consistency", 8, (p) => ({
  ...plain,
  seed: seedOf(p) + 7,
}));
const embeddedFirst = await latency(backend, latencySet, "first-finish", 8, (p) => ({
  ...plain,
  seed: seedOf(p) + 7,
}));
// A server decoding 2 ms per token whose answers vary in length, as chat models' do.
const server = await startOpenAITestServer({
  tokenLatencyMs: 2,
  respond: (request) => {
    const seed = request.seed ?? 0;
    const reasoning = 20 + (seed % 180);
    return `${"step ".repeat(reasoning)}\nA: ${seed % 3 === 0 ? 1 : 2}`;
  },
});
const remote = createOpenAIBackend({
  baseURL: server.url,
  model: "m",
  mode: "completion",
  nParameter: "ignored",
  concurrency: 8,
});
const remoteSet = latencySet.slice(0, 10);
const remoteAll = await latency(remote, remoteSet, "self-consistency", 8, (p) => ({ seed: seedOf(p) }));
const remoteFirst = await latency(remote, remoteSet, "first-finish", 8, (p) => ({ seed: seedOf(p) }));
await server.close();
await backend.close();

const report = {
  splits: { dev: dev.length, test: test.length, levels },
  policy: {
    bins: policy.bins.map((b) => ({ use: b.use === "probe" ? "probe" : b.use.config, problems: b.problems })),
    features: policy.difficulty.features,
    dev: policy.fittedOn,
    devHeldOut: heldOut,
  },
  auto: versus("auto"),
  majority64: base,
  earlyStopping: {
    esc: versus("esc"),
    "adaptive-consistency": versus("adaptive-consistency"),
    "deepconf offline": versus("deepconf offline"),
    "deepconf online": versus("deepconf online"),
  },
  allocation: {
    tokenBudget: budget,
    tokensSpent: totalTokens(allocation.usage),
    rounds: allocation.rounds,
    accuracy: allocatedRight / test.length,
    uniformSelfConsistency8: { accuracy: uniformSeed0.accuracy, tokens: uniformSeed0.tokens * test.length },
  },
  firstFinish: {
    embedded: {
      all8: embeddedAll,
      first: embeddedFirst,
      latencyRatio: embeddedAll.msPerQuestion / embeddedFirst.msPerQuestion,
    },
    loopbackServer: {
      all8: remoteAll,
      first: remoteFirst,
      latencyRatio: remoteAll.msPerQuestion / remoteFirst.msPerQuestion,
    },
  },
  seconds: (performance.now() - started) / 1000,
};
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const line = (name: string, r: ReturnType<typeof versus>) =>
    `  ${name.padEnd(22)} accuracy ${pct(r.accuracy)} (${r.accuracyDelta >= 0 ? "+" : ""}${(100 * r.accuracyDelta).toFixed(1)} pts)  samples ${r.samples.toFixed(1)} (${pct(r.samplesSaved)} fewer)  tokens ${r.tokens.toFixed(0)} (${r.tokenRatio.toFixed(2)}x fewer)`;
  process.stdout.write(
    `${[
      `test split: ${test.length} problems (levels ${levels.join(",")}); policy fitted on ${dev.length} dev problems`,
      `majority@64: accuracy ${pct(base.accuracy)}, ${base.samples.toFixed(0)} samples, ${base.tokens.toFixed(0)} tokens per question`,
      `tuner on dev: in-sample accuracy ${pct(policy.fittedOn.accuracy)}, ${policy.fittedOn.tokens.toFixed(0)} tokens; held-out (${heldOut.folds}-fold) ${pct(heldOut.policy.accuracy)}, ${heldOut.policy.tokens.toFixed(0)} tokens; best fixed held-out ${pct(heldOut.fixed.accuracy)}, ${heldOut.fixed.tokens.toFixed(0)} tokens (${heldOut.fixed.configs.join(" / ")})`,
      line("auto", versus("auto")),
      line("esc", versus("esc")),
      line("adaptive-consistency", versus("adaptive-consistency")),
      line("deepconf offline", versus("deepconf offline")),
      line("deepconf online", versus("deepconf online")),
      `allocation: ${pct(report.allocation.accuracy)} with ${report.allocation.tokensSpent.toFixed(0)} tokens vs uniform self-consistency n=8 ${pct(uniformSeed0.accuracy)} with ${report.allocation.uniformSelfConsistency8.tokens.toFixed(0)}`,
      `first-finish (bundled model, ${latencySet.length} problems, n=8): ${embeddedFirst.msPerQuestion.toFixed(0)} ms vs ${embeddedAll.msPerQuestion.toFixed(0)} ms waiting for all (${report.firstFinish.embedded.latencyRatio.toFixed(2)}x), accuracy ${pct(embeddedFirst.accuracy)} vs ${pct(embeddedAll.accuracy)}`,
      `first-finish (loopback server, 2 ms/token, ${remoteSet.length} problems, n=8): ${remoteFirst.msPerQuestion.toFixed(0)} ms vs ${remoteAll.msPerQuestion.toFixed(0)} ms (${report.firstFinish.loopbackServer.latencyRatio.toFixed(2)}x)`,
      `(${report.seconds.toFixed(0)} s)`,
    ].join("\n")}\n`,
  );
}
