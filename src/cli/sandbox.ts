import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { isolationOfThisMachine } from "../sandbox/detect.js";
import { describeProtections, formatProtections } from "../sandbox/doctor.js";
import { createSandbox } from "../sandbox/linux.js";
import { sandboxLanguages } from "../sandbox/sandbox.js";
import { parseFlags } from "./flags.js";

const runFlagsSchema = z.object({
  lang: z.enum(sandboxLanguages),
  timeoutMs: z.coerce.number().int().positive().max(3_600_000).optional(),
  memoryMb: z.coerce.number().int().positive().max(1_048_576).optional(),
  unsafeNoIsolation: z.boolean().optional(),
});

function doctorCommand(): Command {
  return new Command("doctor")
    .description("List the protections the sandbox has on this machine, and what is missing")
    .option("--json", "print the protections as JSON")
    .exitOverride()
    .action((flags: { json?: boolean }) => {
      const protections = describeProtections(isolationOfThisMachine());
      process.stdout.write(
        flags.json ? `${JSON.stringify(protections, null, 2)}\n` : formatProtections(protections),
      );
    });
}

function runCommand(): Command {
  return new Command("run")
    .description(
      "Run a program in the sandbox and print the result as JSON (status, exit code, output, duration)",
    )
    .requiredOption("--lang <language>", `the program's language: ${sandboxLanguages.join(" or ")}`)
    .option("--timeout-ms <ms>", "wall-clock limit (default 10000)")
    .option("--memory-mb <mb>", "memory limit of the whole process tree (default 512)")
    .option(
      "--unsafe-no-isolation",
      "run even without filesystem isolation (no bubblewrap): the program can then read and write this machine's files",
    )
    .argument("<file>", "the program")
    .exitOverride()
    .action(async (file: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(runFlagsSchema, rawFlags);
      let code: string;
      try {
        code = await readFile(file, "utf8");
      } catch (error) {
        throw new InvalidInputError("FILE", `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`);
      }
      const sandbox = await createSandbox({
        unsafeNoIsolation: flags.unsafeNoIsolation,
        onWarning: (message) => process.stderr.write(`reckon: warning: ${message}\n`),
      });
      const controller = new AbortController();
      const onInterrupt = () => controller.abort();
      process.once("SIGINT", onInterrupt);
      try {
        const result = await sandbox.run(
          {
            language: flags.lang,
            code,
            limits: { timeoutMs: flags.timeoutMs, memoryMb: flags.memoryMb },
          },
          { signal: controller.signal },
        );
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } finally {
        process.off("SIGINT", onInterrupt);
      }
    });
}

export function sandboxCommand(): Command {
  return new Command("sandbox")
    .description("Run untrusted Python or JavaScript programs with limits and isolation")
    .exitOverride()
    .addCommand(doctorCommand())
    .addCommand(runCommand());
}
