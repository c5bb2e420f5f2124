/** Python 3 programs: the interpreter found once, outside the sandbox, and bound read-only inside it. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { ReckonError } from "../core/errors.js";
import { findExecutable, installPrefix, isUnderSystemDirectory, type Runtime } from "./runtime.js";

const run = promisify(execFile);

const interpreterInfo = z.object({ executable: z.string().min(1), prefixes: z.array(z.string()) });

/**
 * Resolves `command` (default `python3` on PATH) to the real interpreter: launchers such as
 * pyenv shims are shell scripts that would not run inside the sandbox, so the interpreter
 * itself reports where it lives.
 */
export async function resolvePythonRuntime(
  command = "python3",
  searchPath = process.env.PATH ?? "/usr/bin:/bin",
): Promise<Runtime> {
  const found = findExecutable(command, searchPath);
  if (!found)
    throw new ReckonError(`python interpreter "${command}" not found`, "install Python 3 or pass its path");
  let info: z.output<typeof interpreterInfo>;
  try {
    const { stdout } = await run(
      found,
      [
        "-c",
        "import json,sys; print(json.dumps({'executable': sys.executable, 'prefixes': [sys.prefix, sys.base_prefix]}))",
      ],
      { timeout: 10_000, env: { PATH: searchPath } },
    );
    info = interpreterInfo.parse(JSON.parse(stdout));
  } catch (error) {
    throw new ReckonError(`python interpreter "${found}" did not start: ${(error as Error).message}`);
  }
  const binds = new Set<string>();
  for (const dir of [...info.prefixes, installPrefix(info.executable)])
    if (!isUnderSystemDirectory(dir)) binds.add(dir);
  return {
    language: "python",
    fileName: "main.py",
    executable: info.executable,
    binds: [...binds],
    // -u: output written before a kill is still seen; -B: nothing to cache in a throwaway directory.
    command: () => [info.executable, "-u", "-B", "main.py"],
  };
}
