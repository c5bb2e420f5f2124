/**
 * How often the math grader calls different answers equal (false-equal rate) and misses an
 * equivalence (missed rate), on answer pairs built from MATH-500, AIME24, AMC23 and GSM8K
 * answer forms (`test/tasks/fixtures/math-answer-pairs.jsonl`).
 *
 * Pairs whose note starts with "form:" are informal forms (number words, units, repeating
 * decimals, durations, …); `--only form:` grades just those.
 *
 *   npx tsx bench/grader-pairs.ts [--verbose] [--only NOTE_PREFIX]
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gsm8kTask, mathTask } from "../src/tasks/math.js";

export interface AnswerPair {
  a: string;
  b: string;
  equal: boolean;
  note: string;
  task?: "math" | "gsm8k";
}

export interface PairGrades {
  pairs: number;
  equalPairs: number;
  differentPairs: number;
  falseEqual: AnswerPair[];
  missed: AnswerPair[];
  milliseconds: number;
}

const FIXTURE = new URL("../test/tasks/fixtures/math-answer-pairs.jsonl", import.meta.url);

export function readAnswerPairs(path: URL | string = FIXTURE): AnswerPair[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AnswerPair);
}

/** Grades every pair both ways round: a pair counts as judged equal only when both orders agree. */
export function gradeAnswerPairs(pairs: AnswerPair[] = readAnswerPairs()): PairGrades {
  const start = performance.now();
  const falseEqual: AnswerPair[] = [];
  const missed: AnswerPair[] = [];
  for (const pair of pairs) {
    const task = pair.task === "gsm8k" ? gsm8kTask : mathTask;
    const forward = task.isCorrect(pair.a, pair.b);
    const backward = task.isCorrect(pair.b, pair.a);
    if (!pair.equal && (forward || backward)) falseEqual.push(pair);
    if (pair.equal && !(forward && backward)) missed.push(pair);
  }
  const equalPairs = pairs.filter((pair) => pair.equal).length;
  return {
    pairs: pairs.length,
    equalPairs,
    differentPairs: pairs.length - equalPairs,
    falseEqual,
    missed,
    milliseconds: performance.now() - start,
  };
}

function percent(count: number, total: number): string {
  return `${((100 * count) / Math.max(1, total)).toFixed(1)}%`;
}

function main(): void {
  const verbose = process.argv.includes("--verbose");
  const only = process.argv[process.argv.indexOf("--only") + 1];
  const pairs = readAnswerPairs().filter(
    (pair) => !process.argv.includes("--only") || pair.note.startsWith(only ?? ""),
  );
  const grades = gradeAnswerPairs(pairs);
  console.log(`pairs: ${grades.pairs} (${grades.equalPairs} equal, ${grades.differentPairs} different)`);
  console.log(
    `false-equal: ${grades.falseEqual.length}/${grades.differentPairs} = ${percent(grades.falseEqual.length, grades.differentPairs)}`,
  );
  console.log(
    `missed equivalence: ${grades.missed.length}/${grades.equalPairs} = ${percent(grades.missed.length, grades.equalPairs)}`,
  );
  console.log(`time: ${grades.milliseconds.toFixed(0)} ms`);
  if (verbose) {
    for (const pair of grades.falseEqual)
      console.log(`  false-equal  ${pair.a}  ≡  ${pair.b}   (${pair.note})`);
    for (const pair of grades.missed) console.log(`  missed       ${pair.a}  ≢  ${pair.b}   (${pair.note})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
