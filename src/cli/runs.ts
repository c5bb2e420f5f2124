import { Command } from "commander";
import { runInUse } from "../bench/runner.js";
import { defaultDbPath, openStore } from "../store/sqlite.js";

export function runsCommand(): Command {
  return new Command("runs")
    .description("List the bench runs in the database, newest first.")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--json", "print JSON")
    .action((flags: { db: string; json?: boolean }) => {
      const store = openStore(flags.db, { create: false });
      try {
        const runs = store.listRuns().map((run) => ({
          runId: run.id,
          // "running" with no live process behind it: killed without a chance to say so.
          status: run.status === "running" && !runInUse(run) ? ("interrupted" as const) : run.status,
          name: (run.recipe as { name?: string }).name,
          dataset: (run.recipe as { dataset?: { name?: string } }).dataset?.name,
          backend: run.backend,
          samples: store.draws.count(run.id),
          createdAt: run.createdAt,
          finishedAt: run.finishedAt,
        }));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
          return;
        }
        for (const r of runs)
          process.stdout.write(
            `${r.runId}  ${r.status.padEnd(11)}  ${String(r.dataset ?? "").padEnd(10)}  ${String(r.samples).padStart(7)} samples  ${r.createdAt}${r.name ? `  ${r.name}` : ""}${r.status === "interrupted" ? `  (continue: reckon bench --resume ${r.runId}${flags.db === defaultDbPath ? "" : ` --db ${flags.db}`})` : ""}\n`,
          );
      } finally {
        store.close();
      }
    });
}
