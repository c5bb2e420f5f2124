/** JavaScript programs, run by Node (this process's own by default). */
import { ReckonError } from "../core/errors.js";
import { findExecutable, installPrefix, isUnderSystemDirectory, type Runtime } from "./runtime.js";

export async function resolveJavaScriptRuntime(
  command = process.execPath,
  searchPath = process.env.PATH ?? "/usr/bin:/bin",
): Promise<Runtime> {
  const executable = findExecutable(command, searchPath);
  if (!executable) throw new ReckonError(`node "${command}" not found`, "install Node.js or pass its path");
  const prefix = installPrefix(executable);
  return {
    language: "javascript",
    fileName: "main.js",
    executable,
    binds: isUnderSystemDirectory(prefix) ? [] : [prefix],
    command: (limits, memoryLimitedByCgroup) => [
      executable,
      // Without a memory cgroup, the heap limit is the only bound left on memory.
      ...(memoryLimitedByCgroup ? [] : [`--max-old-space-size=${limits.memoryMb}`]),
      "main.js",
    ],
  };
}
