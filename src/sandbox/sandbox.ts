/** Running untrusted programs: the request, the limits and the result, independent of how isolation is done. */
import { z } from "zod";

export const sandboxLanguages = ["python", "javascript"] as const;
export type SandboxLanguage = (typeof sandboxLanguages)[number];

export const sandboxLimitsSchema = z
  .object({
    /** Wall-clock time from start to kill, the whole process tree included. */
    timeoutMs: z.number().int().positive().default(10_000),
    /** CPU time per process (RLIMIT_CPU, whole seconds, rounded up); defaults to the wall-clock limit. */
    cpuMs: z.number().int().positive().optional(),
    /** Memory of the whole tree (cgroup), including files written to the sandbox's /tmp and work directory. */
    memoryMb: z.number().int().positive().default(512),
    /** Processes and threads of the whole tree (a JavaScript runtime alone uses about a dozen threads). */
    maxProcesses: z.number().int().positive().default(64),
    /** Bytes kept of stdout and of stderr each; a program that writes more is killed. */
    maxOutputBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20),
    /** Size of the writable work directory and /tmp, and of any one file. */
    maxFileMb: z.number().int().positive().default(16),
  })
  .strict();

export type SandboxLimits = z.input<typeof sandboxLimitsSchema>;
export type ResolvedSandboxLimits = z.output<typeof sandboxLimitsSchema>;

export const sandboxRequestSchema = z
  .object({
    language: z.enum(sandboxLanguages),
    /** The program's source text, written to the work directory as its main file. */
    code: z.string(),
    /** Text fed to the program's standard input (empty when absent). */
    stdin: z.string().optional(),
    limits: sandboxLimitsSchema.default(sandboxLimitsSchema.parse({})),
  })
  .strict();

export type SandboxRequest = z.input<typeof sandboxRequestSchema>;

/**
 * How a run ended: `ok` (exit 0), `error` (another exit code), `timeout` (wall-clock or CPU
 * limit), `memory` (out of memory), `killed` (any other signal, or the output limit).
 */
export const sandboxStatuses = ["ok", "error", "timeout", "memory", "killed"] as const;
export type SandboxStatus = (typeof sandboxStatuses)[number];

export const sandboxResultSchema = z.object({
  status: z.enum(sandboxStatuses),
  /** The program's exit code; null when it ended by a signal. */
  exitCode: z.number().int().nullable(),
  /** The signal that ended it (`SIGKILL`, `SIGXCPU`), or null. */
  signal: z.string().nullable(),
  /** Why the sandbox stopped the program, when it did: `wall-clock limit`, `output limit`, … */
  reason: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  /** Whether stdout or stderr was cut at the output limit (the text then ends with a marker). */
  truncated: z.boolean(),
  durationMs: z.number().nonnegative(),
});

export type SandboxResult = z.output<typeof sandboxResultSchema>;

/** One protection and whether it is in force on this machine. */
export interface Protection {
  name: string;
  active: boolean;
  /** How it is enforced, or why it is missing and what would enable it. */
  detail: string;
}

export interface Sandbox {
  /** What isolates programs here; a missing protection is reported, never silently skipped. */
  readonly protections: readonly Protection[];
  /** Runs one program; rejects with AbortedError after killing it when `signal` aborts. */
  run(request: SandboxRequest, options?: { signal?: AbortSignal }): Promise<SandboxResult>;
}

export const truncationMarker = (keptBytes: number) => `\n[output truncated at ${keptBytes} bytes]`;
