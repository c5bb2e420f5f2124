import { existsSync } from "node:fs";
import { Command } from "commander";
import {
  cachePathOf,
  datasetCacheDir,
  datasetMirror,
  defaultDatasetPath,
  fetchUrl,
} from "../bench/dataset-cache.js";
import { datasetHomes, datasetNames } from "../bench/dataset-registry.js";
import { prepareDataset } from "../bench/datasets.js";

/** Lists the named datasets: their homes, and where each is cached. */
export function datasetsCommand(): Command {
  return new Command("datasets")
    .description(
      "List the named datasets: problems, public home, and where each is cached (fetched on first use).",
    )
    .option("--json", "print JSON")
    .action((flags: { json?: boolean }) => {
      const cacheDir = datasetCacheDir();
      const mirror = datasetMirror();
      const datasets = datasetNames.map((name) => {
        const home = datasetHomes[name];
        const cachePath = cachePathOf(name, cacheDir);
        return {
          name,
          problems: home.problems,
          url: home.url,
          format: home.format,
          sha256: home.sha256 ?? null,
          source: home.source,
          fields: home.fields,
          fetchUrl: fetchUrl(home, mirror),
          cachePath,
          cached: existsSync(cachePath) ? cachePath : null,
          developmentCopy: defaultDatasetPath(name) ?? null,
        };
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ cacheDir, mirror: mirror ?? null, datasets }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`cache: ${cacheDir}\n`);
      if (mirror) process.stdout.write(`mirror: ${mirror} (RECKON_DATASETS_MIRROR)\n`);
      const table = [
        ["name", "problems", "cached", "home"],
        ...datasets.map((d) => [
          d.name,
          String(d.problems),
          d.cached ?? (d.developmentCopy ? `not fetched (reads ${d.developmentCopy})` : "not fetched"),
          d.url,
        ]),
      ];
      const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
      for (const row of table)
        process.stdout.write(
          `${row
            .map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
            .join("  ")
            .trimEnd()}\n`,
        );
    });
}

/**
 * Fetches a bench's named dataset before the run if it is not at hand yet, saying so on stderr
 * unless `quiet`; Ctrl-C stops the fetch and leaves nothing behind.
 */
export async function fetchBenchDataset(
  dataset: { name: string; path?: unknown },
  options: { quiet?: boolean } = {},
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await prepareDataset(dataset, {
      signal: controller.signal,
      onNote: options.quiet ? undefined : (note) => process.stderr.write(`note: ${note}\n`),
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
