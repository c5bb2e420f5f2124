#!/usr/bin/env node
// Rebuilds two parts of node-llama-cpp's llama.cpp from the release it ships, once per machine
// (about 1.5 CPU-minutes), and keeps the rest of its prebuilt libraries:
// - its addon (the glue between JavaScript and llama.cpp), so that a context can have a unified
//   KV cache. The prebuilt addon hard-codes one KV stream per sequence, and llama.cpp then
//   splits every batch of parallel samples at each gap in their sequence ids (a sample that
//   ended leaves one), one more pass over the weights per split; with a unified cache a step
//   of 16 samples is one pass, but every query scans every sequence's cells, which costs more
//   than it saves on a small model (reckon's backend chooses per model: its `kvCache` option);
// - on x64, ggml's CPU kernels of the variant this CPU runs (see cpuKernels).
//
// The build is cached outside the checkout (next to llama-server's, keyed by node-llama-cpp's
// version and the sources) and installed as node-llama-cpp's local build, which getLlama loads
// in preference to the prebuilt one; `npm ci` replaces node_modules, so it is installed again
// from the cache by `npm ci` (prepare) and `npm test` (pretest).
//
//   node tools/build-engine.mjs             # build if missing, install into node_modules
//   node tools/build-engine.mjs --optional  # the same, but only warn when it cannot
//   node tools/build-engine.mjs --remove    # back to the prebuilt addon
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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
import { cpus } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bundleCommit,
  cacheRoot,
  fixAmxTileConfig,
  requireBuildTools,
  run,
  withBuildLock,
} from "./build-llama-server.mjs";

/** The custom build option the build records; `llama.cmakeOptions` shows it at run time. */
export const engineMarker = { RECKON_KV_CACHE: "selectable" };
const patches = [
  {
    // Chosen per context: the environment as it is when the context is constructed, which
    // reckon's llama.cpp backend sets around its own context creation.
    file: "AddonContext.cpp",
    from: "context_params.kv_unified = false;",
    to: 'context_params.kv_unified = std::getenv("RECKON_KV_UNIFIED") != nullptr && std::string(std::getenv("RECKON_KV_UNIFIED")) == "1";',
  },
  {
    // In a unified cache a copy adds the target to the source's cells and leaves the target's
    // own cells in place (streams are overwritten whole); cleared first, it holds only the copy.
    file: "AddonContext.cpp",
    from: "llama_memory_seq_cp(llama_get_memory(context->ctx), sourceSequenceId, targetSequenceId, -1, -1);",
    to: 'if (context->context_params.kv_unified && !llama_memory_seq_rm(mem, targetSequenceId, -1, -1)) {\n                    throw std::runtime_error("Failed to clear destination sequence");\n                }\n\n                llama_memory_seq_cp(llama_get_memory(context->ctx), sourceSequenceId, targetSequenceId, -1, -1);',
  },
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nodeLlamaCpp = join(root, "node_modules/node-llama-cpp");
const say = (text) => process.stderr.write(`build-engine: ${text}\n`);

/** The prebuilt package this platform uses, or why this platform is left on it. */
function prebuilt() {
  if (process.platform !== "linux" || !["x64", "arm64"].includes(process.arch))
    return {
      skip: `only Linux x64 and arm64 are rebuilt; ${process.platform}-${process.arch} keeps the prebuilt addon`,
    };
  const name = `linux-${process.arch}`;
  const bins = join(root, "node_modules/@node-llama-cpp", name, "bins", name);
  if (!existsSync(join(bins, "llama-addon.node"))) return { skip: `${bins} has no prebuilt addon` };
  return { name, bins };
}

function sourceKey(bins) {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(patches));
  hash.update(readFileSync(join(nodeLlamaCpp, "package.json")));
  hash.update(readFileSync(join(bins, "_nlcBuildMetadata.json")));
  for (const file of addonSources()) hash.update(readFileSync(file));
  // The CPU kernels are built for this CPU with this compiler.
  hash.update(cpuFlags().sort().join(" "));
  hash.update(spawnSync("c++", ["--version"], { encoding: "utf8" }).stdout ?? "");
  hash.update(cpuKernels.toString() + fixAmxTileConfig.toString());
  return hash.digest("hex").slice(0, 16);
}

function addonSources() {
  const addon = join(nodeLlamaCpp, "llama/addon");
  return readdirSync(addon, { recursive: true })
    .map(String)
    .filter((file) => /\.(cpp|h)$/.test(file))
    .sort()
    .map((file) => join(addon, file));
}

function osRelease() {
  const fields = new Map();
  try {
    for (const line of readFileSync("/etc/os-release", "utf8").split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) fields.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).replace(/^"(.*)"$/, "$1"));
    }
  } catch {
    // no os-release: node-llama-cpp then tests the binary before loading it, which is harmless
  }
  return { name: fields.get("name") ?? "", version: fields.get("version_id") ?? fields.get("version") ?? "" };
}

function compile(jobs, commands) {
  let next = 0;
  const worker = async () => {
    while (next < commands.length) {
      const [command, args] = commands[next++];
      await new Promise((done, fail) => {
        const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
        child.on("error", fail);
        child.on("exit", (code) =>
          code === 0 ? done() : fail(new Error(`${command} ${args.at(-3)} failed (exit code ${code})`)),
        );
      });
    }
  };
  return Promise.all(Array.from({ length: jobs }, worker));
}

/** Runs a build step whose compiler warnings nobody here can act on: its output shows on failure. */
function quietly(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status === 0) return;
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
  throw new Error(
    `\`${command} ${args.join(" ")}\` failed (exit code ${result.status ?? result.signal}):\n${output}`,
  );
}

function cpuFlags() {
  try {
    return (
      readFileSync("/proc/cpuinfo", "utf8")
        .match(/^flags\s*:(.*)$/m)?.[1]
        .trim()
        .split(/\s+/) ?? []
    );
  } catch {
    return [];
  }
}

/**
 * The x86 variant of ggml's CPU kernels that this CPU runs: the one with the most features, all
 * of them present (as ggml's loader scores them), read from the release's own list of variants.
 * Undefined elsewhere than Linux x64.
 */
export function cpuVariant(cmakeLists, cpuFlagList = cpuFlags(), arch = process.arch) {
  if (arch !== "x64") return undefined;
  const flags = new Set(cpuFlagList);
  const needs = {
    SSE42: ["sse4_2"],
    AVX: ["avx"],
    F16C: ["f16c"],
    FMA: ["fma"],
    AVX2: ["avx2"],
    BMI2: ["bmi2"],
    AVX512: ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
    AVX512_VBMI: ["avx512vbmi"],
    AVX512_VNNI: ["avx512_vnni"],
    AVX512_BF16: ["avx512_bf16"],
    AVX_VNNI: ["avx_vnni"],
    AMX_TILE: ["amx_tile"],
    AMX_INT8: ["amx_int8"],
  };
  let best;
  for (const [, name, list] of cmakeLists.matchAll(/ggml_add_cpu_backend_variant\((\w+)([^)]*)\)/g)) {
    if (name.startsWith("arm") || name.startsWith("android") || name.startsWith("apple")) continue;
    const features = list.trim().split(/\s+/).filter(Boolean);
    const runs = features.every((feature) => needs[feature]?.every((flag) => flags.has(flag)));
    if (runs && (!best || features.length >= best.features)) best = { name, features: features.length };
  }
  return best?.name;
}

/**
 * ggml's CPU kernels for one variant, compiled here with the release's own build (no OpenMP, as
 * the prebuilt ones): Debian's g++ makes the F32 kernels about 1.4 times as fast as the prebuilt
 * library's. With the fix to the AMX kernels that llama-server's build has too
 * (fixAmxTileConfig), without which they fault here.
 */
function cpuKernels(source, work, variant, jobs) {
  fixAmxTileConfig(source);
  const build = join(work, "cpu");
  const flags = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    "-DGGML_BACKEND_DL=ON",
    "-DGGML_CPU_ALL_VARIANTS=ON",
    "-DGGML_NATIVE=OFF",
    "-DGGML_OPENMP=OFF",
    // Linked as the prebuilt libraries are: to libggml-base.so, found beside it.
    "-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON",
    "-DCMAKE_BUILD_RPATH=$ORIGIN",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
  ];
  quietly("cmake", ["-S", source, "-B", build, ...flags]);
  const target = `ggml-cpu-${variant}`;
  quietly("cmake", ["--build", build, "--target", target, "--parallel", String(jobs)]);
  return join(build, "bin", `lib${target}.so`);
}

async function build({ bins }, folder) {
  const work = `${folder}.building-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const started = Date.now();
  try {
    const source = join(work, "llama.cpp");
    const bundle = join(nodeLlamaCpp, "llama/gitRelease.bundle");
    run("git", ["-c", "advice.detachedHead=false", "clone", "--quiet", bundle, source]);
    run("git", ["-C", source, "checkout", "--quiet", bundleCommit()]);

    const addon = join(work, "addon");
    cpSync(join(nodeLlamaCpp, "llama/addon"), addon, { recursive: true });
    for (const patch of patches) {
      const patched = join(addon, patch.file);
      const text = readFileSync(patched, "utf8");
      if (text.split(patch.from).length !== 2)
        throw new Error(`${patch.file} no longer contains \`${patch.from}\` once: the patch needs updating`);
      writeFileSync(patched, text.replace(patch.from, patch.to));
    }

    const include = [
      join(root, "node_modules/node-addon-api"),
      join(root, "node_modules/node-api-headers/include"),
      join(source, "include"),
      join(source, "ggml/include"),
      source,
      join(source, "common"),
      join(source, "src"),
      join(source, "vendor"),
    ].map((dir) => `-I${dir}`);
    const objects = join(work, "obj");
    mkdirSync(objects);
    const units = readdirSync(addon, { recursive: true })
      .map(String)
      .filter((file) => file.endsWith(".cpp"));
    const jobs = Math.max(1, cpus().length);
    say(
      `compiling node-llama-cpp's addon with a selectable KV cache (${units.length} files, ${jobs} jobs, once per machine)`,
    );
    await compile(
      jobs,
      units.map((unit) => [
        "c++",
        [
          ...["-std=c++17", "-O3", "-DNDEBUG", "-fPIC", "-fexceptions", "-DNAPI_VERSION=7", ...include],
          ...["-c", join(addon, unit), "-o", join(objects, `${unit.replaceAll("/", "_")}.o`)],
        ],
      ]),
    );
    const staged = join(work, "Release");
    mkdirSync(staged);
    // Every prebuilt library beside the addon: its RUNPATH is $ORIGIN, and ggml loads the CPU
    // variant that suits the machine from the addon's folder.
    for (const file of readdirSync(bins))
      if (file.endsWith(".so")) cpSync(join(bins, file), join(staged, file));
    const variant = cpuVariant(readFileSync(join(source, "ggml/src/CMakeLists.txt"), "utf8"));
    if (variant) {
      say(`compiling ggml's ${variant} CPU kernels (once per machine)`);
      cpSync(cpuKernels(source, work, variant, jobs), join(staged, `libggml-cpu-${variant}.so`));
    }
    const libraries = readdirSync(bins)
      .filter((file) => /^lib(llama|ggml)[^/]*\.so$/.test(file) && !file.startsWith("libggml-cpu"))
      .map((file) => `-l:${file}`);
    run("c++", [
      "-shared",
      "-o",
      join(staged, "llama-addon.node"),
      ...readdirSync(objects).map((file) => join(objects, file)),
      `-L${bins}`,
      ...libraries,
      "-Wl,-rpath,$ORIGIN",
    ]);
    const metadata = JSON.parse(readFileSync(join(bins, "_nlcBuildMetadata.json"), "utf8"));
    const customCmakeOptions = { ...engineMarker, ...(variant ? { RECKON_CPU_KERNELS: variant } : {}) };
    metadata.buildOptions = { ...metadata.buildOptions, customCmakeOptions, platformInfo: osRelease() };
    writeFileSync(join(staged, "_nlcBuildMetadata.json"), JSON.stringify(metadata));
    // Renamed into place last, so an interrupted build never looks finished; builds of older
    // sources for this platform go.
    for (const old of readdirSync(dirname(folder)))
      if (old.startsWith(basename(folder).replace(/[^-]+$/, "")) && !old.includes("."))
        rmSync(join(dirname(folder), old), { recursive: true, force: true });
    renameSync(staged, folder);
    say(`built in ${Math.round((Date.now() - started) / 1000)} s into ${folder}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Copies the cached build to where node-llama-cpp looks for a local build. */
function install(folder, target, key) {
  const stamp = join(target, "reckon-engine");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === key) return false;
  rmSync(target, { recursive: true, force: true });
  cpSync(folder, join(target, "Release"), { recursive: true });
  writeFileSync(join(target, "buildDone.status"), "");
  writeFileSync(stamp, key);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const optional = process.argv.includes("--optional");
  try {
    const found = prebuilt();
    if (found.skip) {
      say(found.skip);
      process.exit(0);
    }
    const target = join(nodeLlamaCpp, "llama/localBuilds", found.name);
    if (process.argv.includes("--remove")) {
      rmSync(target, { recursive: true, force: true });
      say(`removed ${target}: node-llama-cpp loads its prebuilt addon again`);
      process.exit(0);
    }
    const key = sourceKey(found.bins);
    const folder = join(cacheRoot(), bundleCommit(), `addon-${basename(target)}-${key}`);
    const built = () => existsSync(join(folder, "llama-addon.node"));
    if (!built()) {
      requireBuildTools();
      await withBuildLock(`${folder}.lock`, built, () => build(found, folder), say);
    }
    if (install(folder, target, key)) say(`installed into ${target}`);
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    if (optional)
      say("the embedded engine keeps node-llama-cpp's prebuilt addon (one KV stream per sequence)");
    process.exit(optional ? 0 : 1);
  }
}
