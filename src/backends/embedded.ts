/**
 * The embedded engine, loaded on first use: `import "reckon"` never loads native code, so
 * users of remote servers (and the proxy) do not pay for llama.cpp.
 */
import { fileURLToPath } from "node:url";
import type { LlamaCppBackend, LlamaCppOptions } from "./llamacpp.js";

/** The bundled tiny arithmetic model; resolves from src/backends (tsx) and dist/backends (build) alike. */
export function defaultModelPath(): string {
  return fileURLToPath(new URL("../../models/reckon-tiny.gguf", import.meta.url));
}

export async function createLlamaCppBackend(options: LlamaCppOptions): Promise<LlamaCppBackend> {
  const engine = await import("./llamacpp.js");
  return engine.createLlamaCppBackend(options);
}

/** The bundled model in completion mode, as `reckon` uses it when no backend is named. */
export async function createDefaultBackend(
  options: Omit<LlamaCppOptions, "modelPath"> & { modelPath?: string } = {},
): Promise<LlamaCppBackend> {
  return createLlamaCppBackend({
    mode: "completion",
    ...options,
    modelPath: options.modelPath ?? defaultModelPath(),
  });
}
