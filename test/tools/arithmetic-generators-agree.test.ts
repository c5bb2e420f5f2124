import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { arithmeticLevels, generateArithmeticProblems } from "../../src/tasks/arithmetic.js";

const PYTHON = "/usr/bin/python3";
const TOOL_DIR = "tools/train-tiny";
const canImport =
  spawnSync(PYTHON, ["-c", "import arith_gen"], { cwd: TOOL_DIR, stdio: "ignore" }).status === 0;

describe("Python training generator and TypeScript task", () => {
  it.skipIf(!canImport)(
    "draw identical problems for the same level, seed and index (skipped without /usr/bin/python3)",
    () => {
      for (const level of arithmeticLevels) {
        for (const seed of [0, 1, 12345, 4294967295]) {
          const out = execFileSync(
            PYTHON,
            ["arith_gen.py", "--level", `${level}`, "--count", "25", "--seed", `${seed}`],
            {
              cwd: TOOL_DIR,
              encoding: "utf8",
            },
          );
          const python = JSON.parse(out) as Record<string, unknown>[];
          const typescript = generateArithmeticProblems({ level, count: 25, seed });
          expect(python).toEqual(typescript.map((p) => ({ ...p })));
        }
      }
    },
  );
});
