/**
 * The machine's native llama.cpp build outlives `npm ci`: kept in a cache outside node_modules,
 * keyed by node-llama-cpp's version and the CPU, and put back into node-llama-cpp's local builds
 * when missing there, where node-llama-cpp looks for it. The build itself (several CPU-minutes)
 * is `reckon engine build`; here a package folder and a cache are laid out as they would be.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  engineChoice,
  nativeEngineCache,
  nativeEngineCmakeOptions,
  nativeEngineStatus,
  restoreNativeEngine,
} from "../../src/backends/llamacpp-engine.js";
import { reckon } from "../support/cli.js";

let root: string;
let env: NodeJS.ProcessEnv;

/** node-llama-cpp's package as npm ci leaves it: a version, and no local builds. */
function freshPackage(version: string): string {
  const pkg = join(root, `node-llama-cpp-${version}`);
  rmSync(pkg, { recursive: true, force: true });
  mkdirSync(join(pkg, "llama"), { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "node-llama-cpp", version }));
  return join(pkg, "llama");
}

/** A finished native build in the cache, as `reckon engine build` leaves it. */
function cacheBuild(llama: string, name: string, addon: string): void {
  const build = join(nativeEngineCache(llama, env), name);
  mkdirSync(join(build, "Release"), { recursive: true });
  writeFileSync(join(build, "Release", "llama-addon.node"), addon);
  writeFileSync(
    join(build, "Release", "_nlcBuildMetadata.json"),
    JSON.stringify({ buildOptions: { gpu: false, customCmakeOptions: nativeEngineCmakeOptions } }),
  );
  writeFileSync(join(build, "buildDone.status"), "");
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "reckon-engine-test-"));
  env = { RECKON_LLAMA_CPP_CACHE: join(root, "cache") };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("the native llama.cpp build", () => {
  it("comes back into a freshly installed node-llama-cpp from the cache, without a rebuild", () => {
    const llama = freshPackage("3.22.1");
    cacheBuild(llama, "linux-x64-abc", "native addon");
    expect(nativeEngineStatus(llama, env)).toMatchObject({ installed: false });
    expect(restoreNativeEngine(llama, env)).toBe(true);
    const installed = join(llama, "localBuilds", "linux-x64-abc");
    expect(readFileSync(join(installed, "Release", "llama-addon.node"), "utf8")).toBe("native addon");
    expect(readFileSync(join(installed, "buildDone.status"), "utf8")).toBe("");
    expect(nativeEngineStatus(llama, env)).toEqual({
      cached: join(nativeEngineCache(llama, env), "linux-x64-abc"),
      installed: true,
    });
    // Again (another process starting): nothing to do, and nothing broken.
    expect(restoreNativeEngine(llama, env)).toBe(true);
    expect(readFileSync(join(installed, "Release", "llama-addon.node"), "utf8")).toBe("native addon");
  });

  it("is never taken from another node-llama-cpp version's cache, or from an unfinished build", () => {
    cacheBuild(freshPackage("3.22.1"), "linux-x64-abc", "for 3.22.1");
    const newer = freshPackage("3.23.0");
    expect(restoreNativeEngine(newer, env)).toBe(false);
    expect(nativeEngineStatus(newer, env)).toEqual({ installed: false });
    // A build interrupted before its done marker was written.
    const unfinished = join(nativeEngineCache(newer, env), "linux-x64-abc", "Release");
    mkdirSync(unfinished, { recursive: true });
    writeFileSync(join(unfinished, "llama-addon.node"), "half");
    expect(restoreNativeEngine(newer, env)).toBe(false);
  });

  it("is cached under the CPU it was built for, and can be set aside with RECKON_ENGINE=prebuilt", () => {
    const llama = freshPackage("3.22.1");
    expect(nativeEngineCache(llama, env)).toMatch(/3\.22\.1-[a-z0-9]+-[a-z0-9_]+-[0-9a-f]{12}$/);
    expect(engineChoice({ RECKON_ENGINE: "prebuilt" })).toBe("prebuilt");
    expect(engineChoice({})).toBe("native");
  });

  it("reckon engine says which build the embedded backend loads", async () => {
    const run = await reckon(["engine", "status", "--json"], { env });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    // Nothing in this empty cache: node-llama-cpp's portable binary, without OpenMP.
    expect(report).toMatchObject({ loaded: "prebuilt", openmp: false, nativeBuild: null, choice: "native" });
    expect(report.systemInfo).toMatch(/AVX|NEON|SSE/);
  });
});
