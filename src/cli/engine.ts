import { Command } from "commander";
import { llamaRuntime } from "../backends/llamacpp.js";
import { buildNativeEngine, engineChoice, nativeEngineStatus } from "../backends/llamacpp-engine.js";
import { BackendError } from "../core/errors.js";

/** What the embedded backend loads: the build it runs, its CPU features, and the native build's cache. */
async function engineReport(): Promise<Record<string, unknown>> {
  const status = nativeEngineStatus();
  const llama = await llamaRuntime();
  return {
    loaded: llama.buildType === "localBuild" ? "native" : "prebuilt",
    openmp: /OPENMP = 1/.test(llama.systemInfo),
    threads: llama.cpuMathCores,
    llamaCppRelease: llama.llamaCppRelease.release,
    choice: engineChoice(),
    nativeBuild: status.cached ?? null,
    systemInfo: llama.systemInfo,
  };
}

function statusCommand(): Command {
  return new Command("status")
    .description("Which llama.cpp build the embedded backend runs, and whether a native one is built")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const report = await engineReport();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        [
          `loaded: ${report.loaded} (llama.cpp ${report.llamaCppRelease}, OpenMP ${report.openmp ? "on" : "off"})`,
          `native build: ${report.nativeBuild ?? "none (reckon engine build)"}`,
          ...(report.choice === "prebuilt" ? ["RECKON_ENGINE=prebuilt: the native build is not used"] : []),
          `cpu: ${report.systemInfo}`,
          "",
        ].join("\n"),
      );
    });
}

function buildCommand(): Command {
  return new Command("build")
    .description(
      "Compile node-llama-cpp's llama.cpp for this machine (native CPU features, OpenMP): several CPU-minutes, once per machine; the embedded backend then uses it",
    )
    .option("--quiet", "print only the build's folder")
    .action(async (flags: { quiet?: boolean }) => {
      let cached: string;
      try {
        cached = await buildNativeEngine((chunk) => {
          if (!flags.quiet) process.stderr.write(chunk);
        });
      } catch (error) {
        throw new BackendError(
          `the native build failed: ${error instanceof Error ? error.message : String(error)}`,
          undefined,
          "it needs cmake and a C++ compiler (on Debian: apt-get install cmake g++)",
        );
      }
      process.stdout.write(`${cached}\n`);
    });
}

/** `reckon engine`: the embedded backend's llama.cpp build. */
export function engineCommand(): Command {
  return new Command("engine")
    .description("The embedded backend's llama.cpp: which build runs (status), or build one for this machine")
    .addCommand(statusCommand(), { isDefault: true })
    .addCommand(buildCommand());
}
