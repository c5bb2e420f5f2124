/** Ends a run with one plain line, `N passed, N failed`, that any CI log reader understands. */
import type { Reporter } from "vitest/node";

type Task = { type: string; result?: { state?: string }; tasks?: Task[] };

function count(tasks: readonly Task[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.tasks) count(task.tasks, totals);
    if (task.type !== "test") continue;
    const state = task.result?.state;
    if (state === "pass") totals.passed++;
    else if (state === "fail") totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  // Printed after the default reporter's summary, so it is the run's last line.
  onFinished(files: readonly Task[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    const skipped = totals.skipped ? `, ${totals.skipped} skipped` : "";
    process.stdout.write(`${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
  }
}
