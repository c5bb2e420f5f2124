/** What the isolation layer needs to know about an interpreter. */
import { accessSync, constants, realpathSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { ResolvedSandboxLimits, SandboxLanguage } from "./sandbox.js";

export interface Runtime {
  language: SandboxLanguage;
  /** The program's file name in the work directory. */
  fileName: string;
  /** The interpreter's absolute path. */
  executable: string;
  /** Directories the interpreter needs outside the system directories, bound read-only. */
  binds: string[];
  /** The command line, relative to the work directory. */
  command(limits: ResolvedSandboxLimits, memoryLimitedByCgroup: boolean): string[];
}

/** The system directories every sandbox sees read-only; a runtime under one of them needs no bind of its own. */
export const systemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

export function isUnderSystemDirectory(path: string): boolean {
  return systemDirectories.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

/** An executable's absolute path: as given when it has a slash, else looked up in `searchPath`. */
export function findExecutable(command: string, searchPath: string): string | undefined {
  const candidates = command.includes("/")
    ? [command]
    : searchPath
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The install prefix of an executable at `<prefix>/bin/<name>`, symlinks resolved. */
export function installPrefix(executable: string): string {
  return dirname(dirname(realpathSync(executable)));
}
