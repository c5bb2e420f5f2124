import { Command } from "commander";
import { z } from "zod";
import { listStrategies } from "../strategies/registry.js";
import { verifierNames } from "../verifiers/registry.js";

/** What each verifier of the registry judges, for people choosing one. */
const verifierHelp: Record<string, string> = {
  "step-checker[:NOISE]":
    "exact checker of the arithmetic task's steps; NOISE (e.g. 0.2) flips verdicts to imitate a learned verifier",
  reward: "the rewards recorded in a replay file (--backend replay:FILE)",
};

/** Lists the registered strategies with their options, read from their schemas, and the verifiers. */
export function strategiesCommand(): Command {
  return new Command("strategies")
    .description("List the strategies and their options, and the verifiers that score samples.")
    .option("--json", "print JSON")
    .action((flags: { json?: boolean }) => {
      const described = listStrategies().map((s) => ({
        name: s.name,
        description: s.description,
        needsVerifier: s.needsVerifier,
        options: z.toJSONSchema(s.options, { io: "input" }),
      }));
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ strategies: described, verifiers: verifierNames }, null, 2)}\n`,
        );
        return;
      }
      for (const s of described) {
        process.stdout.write(
          `${s.name}${s.needsVerifier ? " (needs --verifier)" : ""}\n  ${s.description}\n`,
        );
        const properties = (s.options.properties ?? {}) as Record<
          string,
          { type?: string; default?: unknown; description?: string }
        >;
        for (const [name, p] of Object.entries(properties)) {
          const fallback = p.default === undefined ? "" : ` (default ${JSON.stringify(p.default)})`;
          process.stdout.write(`    ${name} (${p.type ?? "value"}): ${p.description ?? ""}${fallback}\n`);
        }
      }
      process.stdout.write("\nverifiers (--verifier NAME, for the strategies that need one):\n");
      for (const name of verifierNames)
        process.stdout.write(`  ${name}${verifierHelp[name] ? `\n    ${verifierHelp[name]}` : ""}\n`);
    });
}
