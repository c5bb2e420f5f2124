#!/usr/bin/env node
// Builds llama.cpp's own programs (llama-server, llama-batched-bench, llama-quantize) from the
// llama.cpp release that node-llama-cpp ships as a git bundle, the same source as its prebuilt
// libraries. A real OpenAI-compatible server that nobody here wrote, offline: the tests run the
// HTTP backend and the proxy against it. Built once per machine into a cache outside the
// checkout, keyed by the llama.cpp commit; prints the folder of the binaries.
//
//   node tools/build-llama-server.mjs            # build if missing, print the bin folder
//   node tools/build-llama-server.mjs --check    # exit 1 when not built, build nothing
//
// The cache is $RECKON_LLAMA_CPP_CACHE, else $XDG_CACHE_HOME/reckon/llama.cpp, else
// ~/.cache/reckon/llama.cpp. Needs git, cmake and a C++ compiler (Debian's cmake and g++).
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const targets = ["llama-server", "llama-batched-bench", "llama-quantize"];

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "node_modules/node-llama-cpp/llama/gitRelease.bundle");
const say = (text) => process.stderr.write(`build-llama-server: ${text}\n`);

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`\`${command} ${args.join(" ")}\` failed (exit code ${result.status ?? result.signal})`);
  return result;
}

export function cacheRoot(env = process.env) {
  if (env.RECKON_LLAMA_CPP_CACHE) return env.RECKON_LLAMA_CPP_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "reckon", "llama.cpp");
}

/** The commit the bundle holds, read without cloning it. */
export function bundleCommit() {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm ci first`);
  const heads = spawnSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" });
  const commit = heads.stdout?.match(/^[0-9a-f]{40}/m)?.[0];
  if (!commit) throw new Error(`cannot read the commit of ${bundle}: ${heads.stderr || "git failed"}`);
  return commit;
}

/** The build's recipe: a change to how the programs are built gets a folder of its own. */
const recipe = "bin-2";

export function binFolder(env = process.env) {
  return join(cacheRoot(env), bundleCommit(), recipe);
}

/**
 * ggml's AMX kernels write their tile configuration to a stack buffer that only
 * `_tile_loadconfig` reads, so g++ drops the writes and the first tile instruction faults
 * (SIGILL) on CPUs with AMX. Kept in thread-local storage, the writes stay.
 */
export function fixAmxTileConfig(source) {
  const file = join(source, "ggml/src/ggml-cpu/amx/mmq.cpp");
  const from = "alignas(64) tile_config_t tc = {};";
  const text = readFileSync(file, "utf8");
  if (text.split(from).length !== 2)
    throw new Error(`${file} no longer contains \`${from}\` once: the fix needs updating`);
  writeFileSync(file, text.replace(from, "alignas(64) static thread_local tile_config_t tc = {};"));
}

/** The programs a build from the bundle needs: git, cmake and a C++ compiler. */
export function requireBuildTools() {
  for (const tool of ["git", "cmake", "c++"])
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0)
      throw new Error(`${tool} is missing (on Debian: apt-get install git cmake g++)`);
}

const built = (bin) => targets.every((target) => existsSync(join(bin, target)));

function build(bin) {
  const folder = dirname(bin);
  const work = `${folder}.building-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const started = Date.now();
  try {
    const source = join(work, "src");
    say(`cloning ${bundle}`);
    run("git", ["-c", "advice.detachedHead=false", "clone", "--quiet", bundle, source]);
    run("git", ["-C", source, "checkout", "--quiet", bundleCommit()]);
    fixAmxTileConfig(source);
    // Static, CPU-only, no downloads: the web UI, curl and OpenSSL stay out.
    const flags = [
      "-DCMAKE_BUILD_TYPE=Release",
      "-DBUILD_SHARED_LIBS=OFF",
      "-DGGML_NATIVE=ON",
      "-DLLAMA_BUILD_TESTS=OFF",
      "-DLLAMA_BUILD_EXAMPLES=OFF",
      "-DLLAMA_BUILD_UI=OFF",
      "-DLLAMA_USE_PREBUILT_UI=OFF",
      "-DLLAMA_OPENSSL=OFF",
      "-DLLAMA_CURL=OFF",
    ];
    const build = join(work, "build");
    say("configuring");
    run("cmake", ["-S", source, "-B", build, ...flags], { stdio: ["ignore", "ignore", "inherit"] });
    const jobs = String(Math.max(1, cpus().length));
    say(`compiling ${targets.join(", ")} with ${jobs} jobs (a few minutes, once per machine)`);
    run("cmake", ["--build", build, "--target", ...targets, "--parallel", jobs], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const staged = join(work, "bin");
    mkdirSync(staged);
    for (const target of targets) cpSync(join(build, "bin", target), join(staged, target));
    // Renamed into place last, so an interrupted build never looks finished; builds of earlier
    // recipes go.
    mkdirSync(folder, { recursive: true });
    for (const old of readdirSync(folder))
      if (old === "bin" || (old.startsWith("bin-") && old !== basename(bin)))
        rmSync(join(folder, old), { recursive: true, force: true });
    renameSync(staged, bin);
    say(`built in ${Math.round((Date.now() - started) / 1000)} s into ${bin}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * One build at a time per machine: a second caller (another test file, another checkout) waits
 * for the first instead of compiling the same thing again. A lock left by a killed build is
 * taken over once its process is gone.
 */
export async function withBuildLock(lock, isBuilt, work, log = say) {
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(lock, "pid"), "utf8").trim() || 0);
      } catch {
        // the other process has not written its pid yet
      }
      if (owner > 0 && !alive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (waited % 30 === 0) log(`waiting for the build of process ${owner || "?"} to finish`);
      await new Promise((r) => setTimeout(r, 2000));
      if (isBuilt()) return;
    }
  }
  try {
    if (!isBuilt()) await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const bin = binFolder();
    if (process.argv.includes("--check")) process.exit(built(bin) ? 0 : 1);
    if (!built(bin)) {
      requireBuildTools();
      await withBuildLock(
        `${dirname(bin)}.lock`,
        () => built(bin),
        () => build(bin),
      );
    }
    process.stdout.write(`${bin}\n`);
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
