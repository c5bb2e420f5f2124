/**
 * The pool shortcut is not a second implementation: at the full pool it answers what the real
 * run answers, and below it equals the mean of real runs over every k-subset of the pool.
 */
import { describe, expect, it } from "vitest";
import { createReplayBackend } from "../../src/backends/replay.js";
import { loadDataset } from "../../src/bench/datasets.js";
import { combinations, expectedSelection } from "../../src/bench/pool-estimates.js";
import type { ReplayRow } from "../../src/bench/replay-format.js";
import { seededRandom } from "../../src/core/random.js";
import type { Problem } from "../../src/core/types.js";
import { run } from "../../src/run.js";
import { getStrategy } from "../../src/strategies/registry.js";
import { mathTask } from "../../src/tasks/math.js";
import { makeMathReplayRows } from "../../tools/make-math-replay.js";

const poolSize = 6;
const strategies = ["self-consistency", "best-of-n", "weighted-majority"];

async function replayRows(): Promise<ReplayRow[]> {
  const problems = await loadDataset({
    name: "math500",
    path: "../shared/datasets/math500-test.jsonl",
    limit: 6,
  });
  // Few distinct wrong answers and coarse rewards, so that ties (the hard case) happen.
  return makeMathReplayRows(problems, { samples: poolSize, seed: 9, correctFraction: 0.45 }).map((row) => ({
    ...row,
    samples: row.samples.map((s) => ({ ...s, reward: Math.round((s.reward ?? 0) * 2) / 2 })),
  }));
}

const problemOf = (row: ReplayRow): Problem => ({
  id: row.id,
  prompt: row.prompt,
  reference: row.reference,
  task: mathTask,
});

/** The real strategy on exactly these recorded samples, in this order. */
async function realRun(row: ReplayRow, strategy: string, indices: number[]) {
  const subset: ReplayRow = { ...row, samples: indices.map((i) => row.samples[i]!) };
  const backend = createReplayBackend({ rows: [subset] });
  const result = await run({
    problem: problemOf(row),
    backend,
    strategy,
    options: { n: indices.length },
    verifier: backend.rewardVerifier,
  });
  return result;
}

describe("pool shortcut of the sampling strategies", () => {
  it("equals the real run at the full pool and the mean of real runs over k-subsets below it", async () => {
    const rows = await replayRows();
    let ties = 0;
    for (const name of strategies) {
      const shortcut = getStrategy(name).fromPool!;
      for (const row of rows) {
        const problem = problemOf(row);
        const full = await realRun(row, name, [...Array(poolSize).keys()]);
        const scored = full.candidates;
        // Full pool: the same answer as the real run.
        expect(shortcut.select(scored, mathTask)).toBe(full.answer);
        const correct = (answer: string) => mathTask.isCorrect(answer, row.reference!);
        for (const k of [1, 2, 3, 5, poolSize]) {
          let sum = 0;
          let count = 0;
          for (const subset of combinations(poolSize, k)) {
            const result = await realRun(row, name, subset);
            if (result.tally.length > 1 && result.tally[0]!.count === result.tally[1]!.count) ties += 1;
            sum += (await problem.task.grade(result.answer, problem)).correct ? 1 : 0;
            count += 1;
          }
          const estimate = expectedSelection(scored, k, shortcut.select, mathTask, correct, seededRandom(1));
          expect(estimate, `${name} k=${k} on ${row.id}`).toBeCloseTo(sum / count, 12);
        }
      }
    }
    // The comparison covered tied votes, where a different tie rule would disagree.
    expect(ties).toBeGreaterThan(0);
  });
});
