import { Command } from "commander";
import { z } from "zod";
import { listStrategies } from "../strategies/registry.js";

/** Lists the registered strategies with their options, read from their schemas. */
export function strategiesCommand(): Command {
  return new Command("strategies")
    .description("List the strategies and their options.")
    .option("--json", "print JSON")
    .action((flags: { json?: boolean }) => {
      const described = listStrategies().map((s) => ({
        name: s.name,
        description: s.description,
        needsScorer: s.needsScorer,
        options: z.toJSONSchema(s.options, { io: "input" }),
      }));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(described, null, 2)}\n`);
        return;
      }
      for (const s of described) {
        process.stdout.write(`${s.name}${s.needsScorer ? " (needs --scorer)" : ""}\n  ${s.description}\n`);
        const properties = (s.options.properties ?? {}) as Record<
          string,
          { type?: string; default?: unknown; description?: string }
        >;
        for (const [name, p] of Object.entries(properties)) {
          const fallback = p.default === undefined ? "" : ` (default ${JSON.stringify(p.default)})`;
          process.stdout.write(`    ${name} (${p.type ?? "value"}): ${p.description ?? ""}${fallback}\n`);
        }
      }
    });
}
