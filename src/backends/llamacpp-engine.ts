/**
 * Which llama.cpp build the embedded backend runs. node-llama-cpp ships a portable binary: CPU
 * features picked at run time, and no OpenMP, so ggml's threads wait for each other by spinning;
 * batched F32 decoding then runs at a fraction of llama.cpp's own speed. `reckon engine build`
 * compiles the same llama.cpp release for this machine (`-march=native`, OpenMP) with
 * node-llama-cpp's own source build, keeps it in a cache outside node_modules (which `npm ci`
 * empties) keyed by node-llama-cpp's version and this CPU, and puts it back into node_modules
 * whenever it is missing there. node-llama-cpp loads a local build made with the same CMake
 * options before its prebuilt binary.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, cpus, homedir, platform } from "node:os";
import { dirname, join } from "node:path";

/**
 * AMX kernels are left out: some virtual machines advertise AMX without enabling it, and its
 * first instruction (Q8_0 weights) then kills the process. GCC lets these flags win over
 * `-march=native` wherever they stand; they go in the release flags because cmake-js sets
 * CMAKE_CXX_FLAGS itself.
 */
const withoutAmx = "-O3 -DNDEBUG -mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/** The CMake options of reckon's build; node-llama-cpp names a local build's folder after them. */
export const nativeEngineCmakeOptions: Readonly<Record<string, string>> = {
  CMAKE_C_FLAGS_RELEASE: withoutAmx,
  CMAKE_CXX_FLAGS_RELEASE: withoutAmx,
};

export type EngineChoice = "native" | "prebuilt";

/** `RECKON_ENGINE=prebuilt` runs node-llama-cpp's own binary even where a native build exists. */
export function engineChoice(env: NodeJS.ProcessEnv = process.env): EngineChoice {
  return env.RECKON_ENGINE === "prebuilt" ? "prebuilt" : "native";
}

/** node-llama-cpp's `llama` folder (its source, local builds and bundle). */
export function llamaFolder(): string {
  // Its entry point is <package>/dist/index.js.
  const entry = createRequire(import.meta.url).resolve("node-llama-cpp");
  return join(dirname(dirname(entry)), "llama");
}

function packageVersion(folder: string): string {
  const pkg = JSON.parse(readFileSync(join(dirname(folder), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** The CPU a native build is for: its model and instruction-set flags. */
function cpuFingerprint(): string {
  let description = `${cpus()[0]?.model ?? "unknown"}`;
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    description += cpuinfo.match(/^flags\s*:(.*)$/m)?.[1] ?? "";
  } catch {
    // not Linux: the model name stands for the CPU
  }
  return createHash("sha256").update(description).digest("hex").slice(0, 12);
}

/** Where native builds are kept: beside llama.cpp's own programs (tools/build-llama-server.mjs). */
export function engineCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const llamaCpp =
    env.RECKON_LLAMA_CPP_CACHE ??
    join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "reckon", "llama.cpp");
  return join(llamaCpp, "node-llama-cpp");
}

/** The cache folder of the native build for this node-llama-cpp, platform and CPU. */
export function nativeEngineCache(folder = llamaFolder(), env: NodeJS.ProcessEnv = process.env): string {
  return join(engineCacheRoot(env), `${packageVersion(folder)}-${platform()}-${arch()}-${cpuFingerprint()}`);
}

/** Whether a local build's metadata says it was made with exactly reckon's CMake options. */
function isReckonBuild(buildFolder: string): boolean {
  try {
    const metadata = JSON.parse(
      readFileSync(join(buildFolder, "Release", "_nlcBuildMetadata.json"), "utf8"),
    ) as { buildOptions?: { customCmakeOptions?: Record<string, string>; gpu?: unknown } };
    const options = metadata.buildOptions?.customCmakeOptions ?? {};
    const wanted = Object.entries(nativeEngineCmakeOptions);
    return (
      metadata.buildOptions?.gpu === false &&
      Object.keys(options).length === wanted.length &&
      wanted.every(([key, value]) => options[key] === value)
    );
  } catch {
    return false;
  }
}

/** The name of the native build in `cache`, if there is one. */
function cachedBuildName(cache: string): string | undefined {
  if (!existsSync(cache)) return undefined;
  return readdirSync(cache).find((name) => existsSync(join(cache, name, "buildDone.status")));
}

/** Copies the parts of a build that load (its Release folder and done marker), renamed into place last. */
function copyBuild(from: string, to: string): void {
  const staging = `${to}.copy-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    cpSync(join(from, "Release"), join(staging, "Release"), { recursive: true });
    cpSync(join(from, "buildDone.status"), join(staging, "buildDone.status"));
    rmSync(to, { recursive: true, force: true });
    renameSync(staging, to);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another process put the same build in place first.
    if (!existsSync(join(to, "buildDone.status"))) throw error;
  }
}

/**
 * Puts the cached native build back into node-llama-cpp's local builds when it is missing
 * there; true when node_modules then holds it.
 */
export function restoreNativeEngine(folder = llamaFolder(), env: NodeJS.ProcessEnv = process.env): boolean {
  const cache = nativeEngineCache(folder, env);
  const name = cachedBuildName(cache);
  if (name === undefined) return false;
  const installed = join(folder, "localBuilds", name);
  if (!existsSync(join(installed, "buildDone.status"))) copyBuild(join(cache, name), installed);
  return true;
}

export interface EngineStatus {
  /** The native build in the cache, if any. */
  cached?: string;
  /** Whether node_modules holds it (it is put back on the next load when not). */
  installed: boolean;
}

export function nativeEngineStatus(
  folder = llamaFolder(),
  env: NodeJS.ProcessEnv = process.env,
): EngineStatus {
  const cache = nativeEngineCache(folder, env);
  const name = cachedBuildName(cache);
  if (name === undefined) return { installed: false };
  return {
    cached: join(cache, name),
    installed: existsSync(join(folder, "localBuilds", name, "buildDone.status")),
  };
}

/**
 * Compiles node-llama-cpp's llama.cpp release for this machine with its own `source download`
 * (which clones the git bundle it ships: no network), keeps the build in the cache and leaves
 * it installed; the source it cloned is removed again. Output goes to `log`.
 */
export async function buildNativeEngine(
  log: (chunk: string) => void,
  folder = llamaFolder(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const cli = join(dirname(folder), "dist", "cli", "cli.js");
  const optionsEnv = Object.fromEntries(
    Object.entries(nativeEngineCmakeOptions).map(([key, value]) => [
      `NODE_LLAMA_CPP_CMAKE_OPTION_${key}`,
      value,
    ]),
  );
  const runCli = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], {
        env: { ...env, ...optionsEnv },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.on("data", (chunk: Buffer) => log(chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => log(chunk.toString()));
      child.once("error", reject);
      child.once("exit", (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`node-llama-cpp ${args.join(" ")} failed (${code ?? signal})`)),
      );
    });
  await runCli(["source", "download", "--gpu", "false", "--noUsageExample"]);
  const builds = join(folder, "localBuilds");
  const name = readdirSync(builds).find(
    (entry) => existsSync(join(builds, entry, "buildDone.status")) && isReckonBuild(join(builds, entry)),
  );
  if (name === undefined) throw new Error(`node-llama-cpp built nothing with reckon's options in ${builds}`);
  const cached = join(nativeEngineCache(folder, env), name);
  mkdirSync(dirname(cached), { recursive: true });
  copyBuild(join(builds, name), cached);
  // The slim copy replaces the build folder (its object files are not needed to load it).
  copyBuild(cached, join(builds, name));
  await runCli(["source", "clear", "source"]);
  return cached;
}
