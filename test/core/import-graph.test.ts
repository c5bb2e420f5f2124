/**
 * The module graph of src has no cycle, through static imports and `import()` alike, and every
 * strategy module loads on its own (a cycle through the registry once made importing
 * iterative-deepening first throw).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { repoRoot } from "../support/cli.js";

const src = join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

/** Relative modules a file loads for their values: static imports and re-exports, and `import()`. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found: string[] = [];
  const statics = /^\s*(?:import|export)\s+(?!type\b)(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const match of source.matchAll(statics)) {
    // `import { type A, type B } from` is type-only too.
    const names = /\{([^}]*)\}/.exec(match[0])?.[1];
    if (names?.split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) continue;
    found.push(match[1]!);
  }
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!);
  return found
    .filter((spec) => spec.startsWith("."))
    .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, ".ts")))
    .filter((target) => target.startsWith(src));
}

/** The cycles of the graph, each as the chain of files that closes it. */
function cycles(files: readonly string[], edges: (file: string) => string[] = importsOf): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      found.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)));
      return;
    }
    state.set(file, "open");
    path.push(file);
    for (const next of edges(file)) visit(next);
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) visit(file);
  return found;
}

describe("the module graph of src", () => {
  const files = sourceFiles(src);

  it("has no import cycle, static or dynamic", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(cycles(files)).toEqual([]);
  });

  it("would notice one", () => {
    const a = join(src, "a.ts");
    const b = join(src, "b.ts");
    const graph = new Map([
      [a, [b]],
      [b, [a]],
    ]);
    expect(cycles([a], (f) => graph.get(f) ?? [])).toEqual([["a.ts", "b.ts", "a.ts"]]);
    // And the walker reads dynamic imports: the backend resolver reaches its engines only so.
    expect(importsOf(join(src, "backends/resolve.ts"))).toContain(join(src, "backends/openai.ts"));
  });

  it("has no strategy module that imports the registry", () => {
    const registry = join(src, "strategies/registry.ts");
    const importers = files.filter((f) => f.includes("/strategies/") && importsOf(f).includes(registry));
    expect(importers.map((f) => relative(src, f))).toEqual([]);
  });
});

describe("each strategy module", () => {
  const dir = join(src, "strategies");
  const modules = readdirSync(dir).filter((name) => name.endsWith(".ts"));

  it.each(modules)("%s loads on its own", async (name) => {
    vi.resetModules();
    const loaded = await import(join(dir, name));
    expect(Object.keys(loaded).length).toBeGreaterThan(0);
  });
});
