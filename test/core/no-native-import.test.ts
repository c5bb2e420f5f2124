/**
 * `import "reckon"` must not load native code: the embedded engine is reached only through a
 * dynamic import. This follows every static (value) import from the package entry.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/cli.js";

/** Modules a file imports statically for their values (type-only imports are erased). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found: string[] = [];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const match of source.matchAll(pattern)) {
    const statement = match[0];
    // `import { type A, type B } from` is type-only too.
    const names = /\{([^}]*)\}/.exec(statement)?.[1];
    if (names?.split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) continue;
    found.push(match[1]!);
  }
  return found;
}

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (!spec.startsWith(".")) {
        seen.add(spec);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
      if (existsSync(target)) visit(target);
    }
  };
  visit(entry);
  return seen;
}

describe("the package entry", () => {
  it("reaches no native module through static imports", () => {
    const modules = [...reachable(join(repoRoot, "src/index.ts"))];
    expect(modules.some((m) => m.endsWith("src/run.ts"))).toBe(true);
    expect(modules.filter((m) => m.includes("node-llama-cpp") || m.endsWith("backends/llamacpp.ts"))).toEqual(
      [],
    );
  });

  it("would notice a static import of the engine", () => {
    // The check itself works: the engine's own module reaches node-llama-cpp.
    expect(reachable(join(repoRoot, "src/backends/llamacpp.ts")).has("node-llama-cpp")).toBe(true);
  });
});
