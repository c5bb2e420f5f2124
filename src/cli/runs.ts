import { Command } from "commander";
import { runInUse } from "../bench/runner.js";
import { defaultDbPath, openStore, StoreError } from "../store/sqlite.js";

/** An error message on one line, short enough for a table. */
const oneLine = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
};

/** `reckon runs` lists the runs (`reckon runs list`, the default); `reckon runs rm` removes some. */
export function runsCommand(): Command {
  return new Command("runs")
    .description("List the bench runs in the database, newest first (default), or remove runs.")
    .addCommand(listCommand(), { isDefault: true })
    .addCommand(removeCommand())
    .addHelpText("after", "\nWithout a command it lists the runs: reckon runs [--db FILE] [--json]");
}

/** Subcommands report errors the way top-level commands do (main.ts): thrown, exit code 2. */
const asSubcommand = (command: Command) =>
  command.exitOverride().configureOutput({ outputError: (text, write) => write(text) });

function removeCommand(): Command {
  return asSubcommand(new Command("rm"))
    .description(
      "Remove runs and everything of theirs (problems, draws, results, metrics) from the database.",
    )
    .argument("<runIds...>", "the runs to remove (see `reckon runs`)")
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--force", "remove a run even while a live process is working on it")
    .action((runIds: string[], flags: { db: string; force?: boolean }) => {
      const store = openStore(flags.db, { create: false });
      try {
        for (const id of runIds) {
          const run = store.getRun(id);
          if (!flags.force && runInUse(run))
            throw new StoreError(
              `run ${id} is in use by process ${run.ownerPid}: nothing was removed`,
              "wait for it to finish or stop that process; --force removes it anyway",
            );
        }
        for (const { runId, rows } of store.deleteRuns(runIds))
          process.stdout.write(
            `removed run ${runId} (${rows.results ?? 0} results, ${rows.draws ?? 0} draws, ${rows.problems ?? 0} problems)\n`,
          );
      } finally {
        store.close();
      }
    });
}

function listCommand(): Command {
  return asSubcommand(new Command("list"))
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
          ...(run.error ? { error: run.error } : {}),
          createdAt: run.createdAt,
          finishedAt: run.finishedAt,
        }));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
          return;
        }
        if (runs.length === 0) {
          process.stdout.write(`no runs in ${flags.db} yet: \`reckon bench\` starts one\n`);
          return;
        }
        const table = [
          ["run", "status", "dataset", "samples", "created", "name / note"],
          ...runs.map((r) => [
            r.runId,
            r.status,
            r.dataset ?? "",
            String(r.samples),
            r.createdAt,
            [
              r.name,
              r.status === "failed" && r.error ? `failed: ${oneLine(r.error)}` : undefined,
              r.status === "interrupted" || r.status === "aborted" || r.status === "failed"
                ? `continue: reckon bench --resume ${r.runId}${flags.db === defaultDbPath ? "" : ` --db ${flags.db}`}`
                : undefined,
            ]
              .filter(Boolean)
              .join("; "),
          ]),
        ];
        const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
        for (const row of table)
          process.stdout.write(
            `${row
              .map((cell, c) => (c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
              .join("  ")
              .trimEnd()}\n`,
          );
      } finally {
        store.close();
      }
    });
}
