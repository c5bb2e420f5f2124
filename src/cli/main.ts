#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { ReckonError } from "../core/errors.js";
import { askCommand } from "./ask.js";
import { benchCommand } from "./bench.js";
import { compareCommand } from "./compare.js";
import { datasetsCommand } from "./datasets.js";
import { demoCommand } from "./demo.js";
import { exportCommand } from "./export.js";
import { gradeCommand } from "./grade.js";
import { reportCommand } from "./report.js";
import { runsCommand } from "./runs.js";
import { sandboxCommand } from "./sandbox.js";
import { serveCommand } from "./serve.js";
import { strategiesCommand } from "./strategies.js";
import { tuneCommand } from "./tune.js";
import { uiCommand } from "./ui.js";

/** Each command lives in its own file and registers itself here. */
const program = new Command()
  .name("reckon")
  .description("Test-time compute for language models: sample, vote, verify, search, refine.")
  .version("0.1.0")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) })
  .addCommand(demoCommand())
  .addCommand(askCommand())
  .addCommand(strategiesCommand())
  .addCommand(gradeCommand())
  .addCommand(benchCommand())
  .addCommand(datasetsCommand())
  .addCommand(runsCommand())
  .addCommand(compareCommand())
  .addCommand(reportCommand())
  .addCommand(exportCommand())
  .addCommand(sandboxCommand())
  .addCommand(serveCommand())
  .addCommand(uiCommand())
  .addCommand(tuneCommand());

// Commander exits by itself (code 1) on a subcommand's bad flag unless each command is told not to;
// thrown instead, the error gets the documented code 2 below.
for (const command of program.commands)
  command.exitOverride().configureOutput({ outputError: (text, write) => write(text) });

// `reckon runs | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

/** 2 for bad input or an unreachable backend (user can fix it), 1 for anything unexpected. */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof ReckonError) {
    process.stderr.write(`reckon: ${error.message}\n`);
    return 2;
  }
  process.stderr.write(
    `reckon: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
