/**
 * Does step-level search pay on the bundled model? Per difficulty level of the arithmetic task:
 * majority vote, best-of-N, beam search, DVTS, MCTS and particle filtering (n particles, the
 * same count as beam search's beams), with the exact step checker as the
 * (process) verifier and with a noisy one (each verdict flipped with probability 0.2), at
 * matched actual tokens: beam search runs first, unbudgeted, and every other method gets the
 * tokens beam search actually spent on that problem (`result.usage`) as its token budget, or
 * (DVTS, MCTS) a configuration of about the same cost; the table shows what each really spent.
 *
 *   npx tsx bench/search-evidence.ts [--levels 1,2,3,4,5] [--per-level 30] [--seed 1] [--beams 8]
 *     [--methods majority,beam-search,particle-filtering]   (default: every method)
 *     [--pf-options '{"weighting": "softmax", "temperature": 0.72}']   (particle filtering's options)
 *
 * Prints the accuracy table and, last, beam-search accuracy divided by majority accuracy at
 * equal tokens on the hardest level, and particle filtering against beam search per verifier
 * there, with the tokens each spent.
 */
import { parseArgs } from "node:util";
import { createDefaultBackend } from "../src/backends/embedded.js";
import type { BudgetLimits } from "../src/core/budget.js";
import { totalTokens } from "../src/core/types.js";
import type { Verifier } from "../src/core/verifier.js";
import { generateArithmeticProblems, toProblem } from "../src/index.js";
import { run } from "../src/run.js";
import { stepCheckerVerifier } from "../src/verifiers/step-checker.js";

const { values } = parseArgs({
  options: {
    levels: { type: "string", default: "1,2,3,4,5" },
    "per-level": { type: "string", default: "30" },
    seed: { type: "string", default: "1" },
    beams: { type: "string", default: "8" },
    methods: { type: "string" },
    "pf-options": { type: "string", default: "{}" },
  },
});
const levels = values.levels.split(",").map(Number);
const perLevel = Number(values["per-level"]);
const seed = Number(values.seed);
const beams = Number(values.beams);

const backend = await createDefaultBackend({ sequences: 16 });
const verifiers: Record<string, Verifier> = {
  exact: stepCheckerVerifier(),
  "noise 0.2": stepCheckerVerifier({ noise: 0.2, seed }),
};

interface Method {
  label: string;
  strategy: string;
  options: Record<string, unknown>;
  verifier?: string;
  /** Budgeted to beam search's actual tokens on the same problem (with the same verifier). */
  matched: boolean;
}

const methods: Method[] = [
  { label: "majority", strategy: "self-consistency", options: { n: 256, batchSize: 4 }, matched: true },
  ...Object.keys(verifiers).flatMap((verifier): Method[] => [
    {
      label: "beam-search",
      strategy: "beam-search",
      options: { n: beams, beamWidth: 2 },
      verifier,
      matched: false,
    },
    { label: "best-of-n", strategy: "best-of-n", options: { n: 256, batchSize: 4 }, verifier, matched: true },
    { label: "dvts", strategy: "dvts", options: { n: beams, beamWidth: 2 }, verifier, matched: false },
    {
      label: "mcts",
      strategy: "mcts",
      options: { simulations: Math.max(2, beams / 2), branching: 3 },
      verifier,
      matched: false,
    },
    {
      label: "particle-filtering",
      strategy: "particle-filtering",
      options: { n: beams, ...JSON.parse(values["pf-options"]) },
      verifier,
      matched: false,
    },
  ]),
];

// Beam search always runs: the others are budgeted to its tokens.
const only = values.methods?.split(",");
const chosen = only ? methods.filter((m) => m.strategy === "beam-search" || only.includes(m.label)) : methods;

interface Tally {
  right: number;
  tokens: number;
  problems: number;
}
const tallies = new Map<string, Tally>();
const key = (level: number, m: Method) => `${level}|${m.label}|${m.verifier ?? "-"}`;

const started = performance.now();
for (const level of levels) {
  const problems = generateArithmeticProblems({ level, count: perLevel, seed }).map(toProblem);
  for (const [i, problem] of problems.entries()) {
    // Beam search's spend on this problem, per verifier; majority matches the exact one's.
    const beamTokens = new Map<string, number>();
    const order = [...chosen].sort((a, b) => Number(a.matched) - Number(b.matched));
    for (const method of order) {
      const reference = beamTokens.get(method.verifier ?? "exact");
      const budget: BudgetLimits | undefined =
        method.matched && reference !== undefined ? { maxTokens: reference } : undefined;
      const result = await run({
        problem,
        backend,
        strategy: method.strategy,
        options: method.options,
        verifier: method.verifier ? verifiers[method.verifier] : undefined,
        sampling: { temperature: 1, maxTokens: 96, seed: seed * 100_000 + level * 1000 + i },
        budget,
      });
      const spent = totalTokens(result.usage);
      if (method.strategy === "beam-search") beamTokens.set(method.verifier!, spent);
      const correct = (await problem.task.grade(result.answer, problem)).correct;
      const t = tallies.get(key(level, method)) ?? { right: 0, tokens: 0, problems: 0 };
      t.right += correct ? 1 : 0;
      t.tokens += spent;
      t.problems += 1;
      tallies.set(key(level, method), t);
    }
  }
  process.stderr.write(`level ${level} done, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}
await backend.close();

const rows: string[][] = [["level", "method", "verifier", "accuracy", "tokens/problem"]];
for (const level of levels)
  for (const method of chosen) {
    const t = tallies.get(key(level, method))!;
    rows.push([
      String(level),
      method.label,
      method.verifier ?? "-",
      `${((100 * t.right) / t.problems).toFixed(1)}%`,
      (t.tokens / t.problems).toFixed(0),
    ]);
  }
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(
  `${perLevel} problems per level (seed ${seed}), temperature 1, beam search n=${beams} beamWidth=2, particle filtering n=${beams} ${values["pf-options"]}; majority and best-of-n budgeted to beam search's actual tokens per problem:\n`,
);
console.log(rows.map((r) => r.map((cell, c) => cell.padStart(widths[c]!)).join("  ")).join("\n"));
const hardest = Math.max(...levels);
const ran = (label: string) => chosen.some((m) => m.label === label);
/** Accuracy and mean tokens of a method at one level, or over every level when none is given. */
const summary = (label: string, verifier: string | undefined, level?: number) => {
  const parts = (level === undefined ? levels : [level]).map(
    (l) => tallies.get(`${l}|${label}|${verifier ?? "-"}`)!,
  );
  const problems = parts.reduce((sum, t) => sum + t.problems, 0);
  const right = parts.reduce((sum, t) => sum + t.right, 0);
  const tokens = parts.reduce((sum, t) => sum + t.tokens, 0);
  return { accuracy: right / problems, right, problems, tokens: tokens / problems };
};
const show = (s: ReturnType<typeof summary>) =>
  `${(s.accuracy * 100).toFixed(1)}% (${s.right}/${s.problems}) at ${s.tokens.toFixed(0)} tokens`;
console.log(`\nwall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (ran("majority")) {
  const majority = summary("majority", undefined, hardest).accuracy;
  const beam = summary("beam-search", "exact", hardest).accuracy;
  console.log(
    `beam-search (exact step checker) / majority accuracy at equal tokens, level ${hardest}: ${(beam * 100).toFixed(1)}% / ${(majority * 100).toFixed(1)}% = ${majority > 0 ? (beam / majority).toFixed(2) : "inf"}x`,
  );
}
if (ran("particle-filtering"))
  for (const verifier of Object.keys(verifiers))
    for (const level of [hardest, undefined])
      console.log(
        `particle-filtering / beam-search (${verifier}), ${level === undefined ? "all levels" : `level ${level}`}: ${show(summary("particle-filtering", verifier, level))} / ${show(summary("beam-search", verifier, level))}`,
      );
