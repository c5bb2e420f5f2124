/**
 * How the bench scales with problems: generates a seeded synthetic replay file (math answers in
 * several equivalent LaTeX forms, popular wrong answers, recorded rewards), runs
 * `reckon bench` on it end to end through the real CLI (results, metrics, pool estimates and
 * the printed summary), and prints wall time, peak resident memory and the database size
 * against the replay file's, at each size asked for.
 *
 *   npx tsx bench/scale.ts [--problems 1000,2000] [--samples 64] [--n 1,2,4,8,16,32,64] \
 *     [--strategies self-consistency,best-of-n,weighted-majority] [--seed 1] [--keep DIR]
 *
 * Targets for 2,000 problems × 64 samples × 3 strategies × 7 budgets: under 2 minutes, under
 * 1 GB resident, a database at most twice the replay file; time and memory linear in problems.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deriveSeed, type Random, seededRandom } from "../src/core/random.js";

const { values } = parseArgs({
  options: {
    problems: { type: "string", default: "1000,2000" },
    samples: { type: "string", default: "64" },
    n: { type: "string", default: "1,2,4,8,16,32,64" },
    strategies: { type: "string", default: "self-consistency,best-of-n,weighted-majority" },
    seed: { type: "string", default: "1" },
    keep: { type: "string" },
  },
});
const sizes = values.problems.split(",").map(Number);
const samples = Number(values.samples);
const seed = Number(values.seed);

const fillers = [
  "We start from what the problem gives and write it as an equation.",
  "Substituting the known values, the expression simplifies step by step.",
  "Collecting like terms on one side and factoring gives a simpler form.",
  "Checking the boundary cases shows that none of them change the result.",
  "Dividing both sides by the common factor keeps the equation equivalent.",
  "The remaining quantity follows directly from the previous line.",
  "We verify the candidate against the original conditions of the problem.",
  "Rewriting the fraction over a common denominator makes the sum clear.",
];

/** The same value written as a model might: several LaTeX forms of one number. */
function forms(p: number, q: number): string[] {
  const decimal = Number.isInteger((p / q) * 1000) ? String(p / q) : undefined;
  return [`\\frac{${p}}{${q}}`, `\\dfrac{${p}}{${q}}`, `${p}/${q}`, ...(decimal ? [decimal] : [])];
}

function pick<T>(items: readonly T[], random: Random): T {
  return items[Math.floor(random() * items.length)]!;
}

function solutionText(answer: string, random: Random): string {
  const lines: string[] = [];
  const steps = 10 + Math.floor(random() * 6);
  for (let i = 0; i < steps; i++)
    lines.push(`${pick(fillers, random)} Then $x_{${i}} = ${Math.floor(random() * 900) + 100}$.`);
  return `${lines.join("\n\n")}\n\nTherefore the answer is $\\boxed{${answer}}$.`;
}

/** One replay row per problem: ~1 kB samples, answers in equivalent forms, noisy rewards. */
function generateRow(index: number): string {
  const random = seededRandom(deriveSeed(seed, "scale", index));
  const q = 2 + Math.floor(random() * 7);
  const p = 1 + Math.floor(random() * 40);
  const reference = `\\frac{${p}}{${q}}`;
  const right = forms(p, q);
  // A few popular wrong answers, and a rare stray one now and then.
  const wrong = Array.from({ length: 3 }, (_, i) => forms(p + i + 1, q));
  const pCorrect = 0.15 + random() * 0.7;
  const rows = Array.from({ length: samples }, () => {
    const correct = random() < pCorrect;
    const u = random();
    const answer = correct
      ? pick(right, random)
      : u < 0.95
        ? pick(wrong[u < 0.6 ? 0 : u < 0.85 ? 1 : 2]!, random)
        : String(Math.floor(random() * 1000));
    const text = random() < 0.03 ? "I could not finish this one." : solutionText(answer, random);
    const reward =
      Math.round(Math.min(0.99, Math.max(0.01, (correct ? 0.7 : 0.45) + (random() - 0.5) * 0.5)) * 100) / 100;
    return { text, reward, tokens: Math.ceil(text.length / 4), finish_reason: "eos" };
  });
  return `${JSON.stringify({
    id: `p${index}`,
    prompt: `Problem ${index}: compute the value of the expression and put the final answer within \\boxed{}.`,
    reference,
    prompt_tokens: 24,
    samples: rows,
  })}\n`;
}

function generateReplay(path: string, problems: number): void {
  const chunks: string[] = [];
  for (let i = 0; i < problems; i++) chunks.push(generateRow(i));
  writeFileSync(path, chunks.join(""));
}

interface Measured {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  dbMb: number;
  replayMb: number;
  code: number | null;
  lastLines: string;
}

/** `reckon bench` on the replay file, through the CLI, timed; peak RSS from the process itself. */
function runBench(dir: string, replay: string): Promise<Measured> {
  const db = join(dir, "scale.sqlite");
  const rssFile = join(dir, "rss.txt");
  // Written by the bench process as it exits: its own peak resident set (kB) and CPU time (µs),
  // which on a shared machine says more than the wall time.
  const recordPeak = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>{const u=process.resourceUsage();writeFileSync(${JSON.stringify(rssFile)},JSON.stringify([u.maxRSS,u.userCPUTime+u.systemCPUTime]))})`;
  const args = [
    "--import",
    "tsx",
    "--import",
    recordPeak,
    "src/cli/main.ts",
    "bench",
    "--backend",
    `replay:${replay}`,
    "--task",
    "math",
    "--strategy",
    values.strategies,
    "--n",
    values.n,
    "--verifier",
    "reward",
    "--seed",
    "1",
    "--db",
    db,
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(`  | ${String(chunk).trimEnd().replace(/\n/g, "\n  | ")}\n`);
    });
    const forward = () => child.kill("SIGTERM");
    process.once("SIGINT", forward);
    child.on("error", reject);
    child.on("close", (code) => {
      process.off("SIGINT", forward);
      const seconds = (performance.now() - started) / 1000;
      let [peakKb, cpuMicros] = [Number.NaN, Number.NaN];
      try {
        [peakKb, cpuMicros] = JSON.parse(readFileSync(rssFile, "utf8")) as [number, number];
      } catch {}
      const size = (file: string) => {
        try {
          return statSync(file).size / 2 ** 20;
        } catch {
          return 0;
        }
      };
      resolve({
        seconds,
        cpuSeconds: cpuMicros / 1e6,
        peakRssMb: peakKb / 1024,
        dbMb: size(db) + size(`${db}-wal`),
        replayMb: size(replay),
        code,
        lastLines: output.trimEnd().split("\n").slice(0, 8).join("\n"),
      });
    });
  });
}

const strategies = values.strategies.split(",").length;
const budgets = values.n.split(",").length;
const results: { problems: number; m: Measured }[] = [];
for (const problems of sizes) {
  const dir = values.keep
    ? join(values.keep, String(problems))
    : mkdtempSync(join(tmpdir(), "reckon-scale-"));
  mkdirSync(dir, { recursive: true });
  const replay = join(dir, "replay.jsonl");
  const generatedAt = performance.now();
  generateReplay(replay, problems);
  console.log(
    `${problems} problems × ${samples} samples × ${strategies} strategies × ${budgets} budgets (replay file generated in ${((performance.now() - generatedAt) / 1000).toFixed(1)} s)`,
  );
  const m = await runBench(dir, replay);
  results.push({ problems, m });
  console.log(m.lastLines.replace(/^/gm, "  > "));
  console.log(
    `  exit ${m.code}: ${m.seconds.toFixed(1)} s (${m.cpuSeconds.toFixed(1)} s of CPU), peak RSS ${m.peakRssMb.toFixed(0)} MB, database ${m.dbMb.toFixed(0)} MB / replay ${m.replayMb.toFixed(0)} MB = ${(m.dbMb / m.replayMb).toFixed(2)}×`,
  );
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}

if (results.length > 1) {
  const [a, b] = [results[0]!, results[results.length - 1]!];
  const scale = b.problems / a.problems;
  console.log(
    `from ${a.problems} to ${b.problems} problems (×${scale.toFixed(1)}): time ×${(b.m.seconds / a.m.seconds).toFixed(2)} (CPU ×${(b.m.cpuSeconds / a.m.cpuSeconds).toFixed(2)}), peak RSS ×${(b.m.peakRssMb / a.m.peakRssMb).toFixed(2)}, database ×${(b.m.dbMb / a.m.dbMb).toFixed(2)}`,
  );
}
