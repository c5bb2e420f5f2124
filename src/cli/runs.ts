import { Command } from "commander";
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
          status: run.status,
          name: (run.recipe as { name?: string }).name,
          dataset: (run.recipe as { dataset?: { name?: string } }).dataset?.name,
          backend: run.backend,
          samples: store.countSamples(run.id),
          createdAt: run.createdAt,
          finishedAt: run.finishedAt,
        }));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
          return;
        }
        for (const r of runs)
          process.stdout.write(
            `${r.runId}  ${r.status.padEnd(9)}  ${String(r.dataset ?? "").padEnd(10)}  ${String(r.samples).padStart(7)} samples  ${r.createdAt}${r.name ? `  ${r.name}` : ""}\n`,
          );
      } finally {
        store.close();
      }
    });
}
