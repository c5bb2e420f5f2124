/**
 * What adaptive compute buys on real recorded samples (a replay file, e.g. the recorded sets
 * in ../shared/datasets/recorded/): the problems are cut into a dev and a test split (by a hash
 * of their ids), then
 *
 *   1. esc and adaptive-consistency against self-consistency at the most samples recorded, and
 *      at the nearest n to what they spent: samples, tokens and accuracy on the test split;
 *   2. `auto`, tuned on the dev split (probe: self-consistency at 4; objective: the accuracy of
 *      the dev split's most accurate configuration for the fewest tokens) and run on the test
 *      split, against the same configurations, and against the best fixed configuration chosen
 *      on the dev split for the same objective; the tuner's k-fold held-out figures on dev.
 *
 *   npx tsx bench/recorded-evidence.ts --file ../shared/datasets/recorded/addsub_lamda-137b_n40.jsonl --task gsm8k
 *   npx tsx bench/recorded-evidence.ts --file ../shared/datasets/recorded/aqua_ul2-20b_n40.jsonl --task choice
 *
 * Every configuration runs through `run()` on the replay backend, so each sees a problem's
 * samples in recorded order from the first: self-consistency at n is the first n recorded
 * samples. Recordings carry no token counts: tokens are the replay backend's estimate (about
 * four characters a token, prompt included), which the figures say.
 */
import { parseArgs } from "node:util";
import { createReplayBackend } from "../src/backends/replay.js";
import { readReplayFileSync } from "../src/bench/replay-format.js";
import { crossValidate, evaluatePolicy, fitPolicy, type PolicyRow } from "../src/control/policy.js";
import { type Problem, totalTokens } from "../src/core/types.js";
import { run } from "../src/run.js";
import { getTask } from "../src/tasks/registry.js";

const { values } = parseArgs({
  options: {
    file: { type: "string" },
    task: { type: "string", default: "gsm8k" },
    probe: { type: "string", default: "4" },
    json: { type: "boolean", default: false },
  },
});
if (!values.file) {
  process.stderr.write("usage: npx tsx bench/recorded-evidence.ts --file FILE.jsonl [--task gsm8k|choice]\n");
  process.exit(2);
}
const started = performance.now();
const log = (text: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)}s] ${text}\n`);

const task = getTask(values.task!);
const recorded = readReplayFileSync(values.file);
const backend = createReplayBackend({ rows: recorded, id: `replay:${values.file.split("/").pop()}` });
const most = Math.min(...recorded.map((r) => r.samples.length));
const problems: Problem[] = recorded.map((r) => ({
  id: r.id,
  prompt: r.prompt,
  reference: r.reference,
  task,
}));

const hash = (id: string) => {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return h;
};
const dev = problems.filter((p) => hash(p.id) % 2 === 0);
const test = problems.filter((p) => hash(p.id) % 2 === 1);

const ns = [1, 2, 4, 8, 16, 32, 64].filter((n) => n < most);
ns.push(most);
const probeN = Number(values.probe);
const configs: [string, string, Record<string, unknown>][] = [
  ...ns.map(
    (n) =>
      [`self-consistency n=${n}`, "self-consistency", { n }] as [string, string, Record<string, unknown>],
  ),
  ["esc", "esc", { windowSize: Math.min(8, most), maxSamples: most }],
  ["adaptive-consistency", "adaptive-consistency", { maxSamples: most }],
];
if (!ns.includes(probeN)) configs.push([`self-consistency n=${probeN}`, "self-consistency", { n: probeN }]);

interface Outcome {
  correct: boolean;
  tokens: number;
  samples: number;
}
const outcomes = new Map<string, Map<string, Outcome>>();
const rows: PolicyRow[] = [];
for (const [index, problem] of problems.entries()) {
  for (const [config, strategy, options] of configs) {
    const result = await run({ problem, backend, strategy, options });
    const correct = (await task.grade(result.answer, problem)).correct;
    const samples =
      typeof result.detail?.samples === "number" ? result.detail.samples : result.candidates.length;
    if (!outcomes.has(config)) outcomes.set(config, new Map());
    outcomes.get(config)!.set(problem.id, { correct, tokens: totalTokens(result.usage), samples });
    rows.push({
      problemId: problem.id,
      config,
      strategy,
      options,
      correct,
      usage: result.usage,
      // Every configuration here reads the recording from its first sample: candidate i is draw i.
      candidates: result.candidates.map((c, i) => ({
        answer: c.answer,
        tokens: c.tokens,
        draw: index * 10_000 + i,
      })),
    });
  }
  if ((index + 1) % 50 === 0) log(`${index + 1}/${problems.length} problems`);
}

const on = (config: string, split: readonly Problem[]) => {
  const own = outcomes.get(config)!;
  const list = split.map((p) => own.get(p.id)!);
  return {
    accuracy: list.filter((o) => o.correct).length / list.length,
    tokens: list.reduce((s, o) => s + o.tokens, 0) / list.length,
    samples: list.reduce((s, o) => s + o.samples, 0) / list.length,
  };
};
/** Self-consistency at the recorded n nearest to `samples` (at or above it). */
const nearestSc = (samples: number) => `self-consistency n=${ns.find((n) => n >= samples - 1e-9) ?? most}`;

const devIds = new Set(dev.map((p) => p.id));
const devRows = rows.filter((r) => devIds.has(r.problemId));
const devScores = configs.map(([config]) => ({ config, ...on(config, dev) }));
const target = [...devScores].sort((a, b) => b.accuracy - a.accuracy || a.tokens - b.tokens)[0]!;
const settings = {
  task,
  model: backend.id,
  probe: `self-consistency n=${probeN}`,
  objective: { kind: "match" as const, config: target.config },
  bins: 3,
  minProblems: 20,
};
const policy = fitPolicy(devRows, settings);
const held = crossValidate(devRows, settings, 5);
// The best fixed configuration on dev for the same objective: the cheapest reaching the target's accuracy.
const fixedOnDev = devScores
  .filter((s) => s.accuracy >= target.accuracy - 1e-9)
  .sort((a, b) => a.tokens - b.tokens)[0]!;

// auto on the test split, run as a user would run it.
const autoOutcomes: Outcome[] = [];
for (const problem of test) {
  const result = await run({ problem, backend, strategy: "auto", options: { policy } });
  const correct = (await task.grade(result.answer, problem)).correct;
  autoOutcomes.push({
    correct,
    tokens: totalTokens(result.usage),
    samples: result.detail?.samples as number,
  });
}
const auto = {
  accuracy: autoOutcomes.filter((o) => o.correct).length / autoOutcomes.length,
  tokens: autoOutcomes.reduce((s, o) => s + o.tokens, 0) / autoOutcomes.length,
  samples: autoOutcomes.reduce((s, o) => s + o.samples, 0) / autoOutcomes.length,
};
const testRows = rows.filter((r) => !devIds.has(r.problemId));
const autoFromRows = evaluatePolicy(policy, testRows, task);

const full = `self-consistency n=${most}`;
const versus = (figures: { accuracy: number; tokens: number; samples: number }) => {
  const matched = nearestSc(figures.samples);
  return {
    ...figures,
    full: { config: full, ...on(full, test) },
    matched: { config: matched, ...on(matched, test) },
  };
};
const report = {
  file: values.file,
  task: task.name,
  problems: { dev: dev.length, test: test.length, samplesPerProblem: most },
  tokens: "estimated from characters (about four a token, prompt included): the recording has no counts",
  test: Object.fromEntries(configs.map(([config]) => [config, on(config, test)])),
  esc: versus(on("esc", test)),
  "adaptive-consistency": versus(on("adaptive-consistency", test)),
  auto: {
    policy: {
      probe: policy.probe?.config ?? null,
      bins: policy.bins.map((b) => ({
        use: b.use === "probe" ? "probe" : b.use.config,
        problems: b.problems,
      })),
      objective: `match ${target.config} (dev accuracy ${(100 * target.accuracy).toFixed(1)}%)`,
    },
    dev: { inSample: policy.fittedOn, heldOut: held },
    test: versus(auto),
    testFromRows: autoFromRows,
    fixedChosenOnDev: { config: fixedOnDev.config, test: on(fixedOnDev.config, test) },
  },
};
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const fig = (f: { accuracy: number; tokens: number; samples?: number }) =>
    `${pct(f.accuracy)}, ${f.samples !== undefined ? `${f.samples.toFixed(1)} samples, ` : ""}${f.tokens.toFixed(0)} tokens`;
  const lines = [
    `${values.file} (${task.name}): ${dev.length} dev / ${test.length} test problems, ${most} samples each; tokens estimated (chars/4)`,
    "test split, fixed configurations:",
    ...configs.map(([config]) => `  ${config.padEnd(28)} ${fig(on(config, test))}`),
  ];
  for (const name of ["esc", "adaptive-consistency"] as const) {
    const v = report[name];
    lines.push(
      `${name}: ${fig(v)}  vs ${v.full.config}: ${fig(v.full)}  vs ${v.matched.config} (matched samples): ${fig(v.matched)}`,
    );
  }
  const a = report.auto;
  lines.push(
    `auto (probe ${a.policy.probe ?? "none"}; bins: ${a.policy.bins.map((b) => `${b.use} [${b.problems}]`).join(", ")}; objective ${a.policy.objective})`,
    `  dev in-sample: ${fig(a.dev.inSample)}; dev held-out (${held.folds}-fold): ${fig(held.policy)}, best fixed held-out ${fig(held.fixed)} (${held.fixed.configs.join(" / ")})`,
    `  test: ${fig(a.test)}  vs ${a.test.full.config}: ${fig(a.test.full)}  vs ${a.test.matched.config}: ${fig(a.test.matched)}  vs best fixed on dev (${a.fixedChosenOnDev.config}): ${fig(a.fixedChosenOnDev.test)}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}
log("done");
