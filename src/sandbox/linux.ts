/**
 * The sandbox on Linux: bubblewrap (or util-linux `unshare`) namespaces, a drop to an
 * unprivileged uid when running as root, cgroups for memory and processes, rlimits for CPU
 * time and file size, and a wall-clock timer that kills the whole tree.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, constants, tmpdir } from "node:os";
import { join } from "node:path";
import { AbortedError, ReckonError } from "../core/errors.js";
import { parseOrThrow } from "../core/validate.js";
import { CappedOutput } from "./capture.js";
import { RunCgroups, removeStaleCgroups } from "./cgroup.js";
import { type Isolation, isolationOfThisMachine, unprivilegedUid } from "./detect.js";
import { describeProtections } from "./doctor.js";
import { resolveJavaScriptRuntime } from "./javascript.js";
import { ConcurrencyLimiter } from "./limiter.js";
import { resolvePythonRuntime } from "./python.js";
import { type Runtime, systemDirectories } from "./runtime.js";
import {
  type ResolvedSandboxLimits,
  type Sandbox,
  type SandboxLanguage,
  type SandboxRequest,
  type SandboxResult,
  type SandboxStatus,
  sandboxRequestSchema,
} from "./sandbox.js";
import { seccompFilter } from "./seccomp.js";

export interface SandboxOptions {
  /** The Python interpreter: a command on PATH or a path (default `python3`). */
  python?: string;
  /** The Node executable for JavaScript (default: the one running reckon). */
  node?: string;
  /** Told once about every protection missing on this machine (default: a process warning). */
  onWarning?: (message: string) => void;
  /** Runs at once; more wait their turn (default: the machine's cores). */
  concurrency?: number;
  /** Where each run's fresh work directory is made (default: the system's temporary directory). */
  tempRoot?: string;
  /** Mechanisms to use, for tests and diagnosis (default: what this machine offers). */
  isolation?: Isolation;
  /**
   * Run programs even without filesystem isolation (no bubblewrap): they then read every file
   * reckon's user can read, write through symlinks and reach host sockets. Refused unless set
   * here, or by `RECKON_UNSAFE_NO_ISOLATION=1` in the environment (`--unsafe-no-isolation`).
   */
  unsafeNoIsolation?: boolean;
}

/** The environment variable that accepts running untrusted code without filesystem isolation. */
export const unsafeNoIsolationVariable = "RECKON_UNSAFE_NO_ISOLATION";

/** The work directory as the program sees it under bubblewrap. */
const sandboxWorkDir = "/work";
const programPath = "/usr/local/bin:/usr/bin:/bin";
/** System files a dynamically linked interpreter may read; nothing else of /etc is visible. */
const etcFiles = [
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/localtime",
];

export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const isolation = options.isolation ?? isolationOfThisMachine();
  const protections = describeProtections(isolation);
  const accepted = options.unsafeNoIsolation === true || process.env[unsafeNoIsolationVariable] === "1";
  if (isolation.kind !== "bwrap" && !accepted)
    throw new ReckonError(
      `the sandbox cannot isolate the filesystem here (${isolation.missing.bwrap ?? "bubblewrap is not used"}), and will not run model-written code without it`,
      `install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or accept the risk with --unsafe-no-isolation (${unsafeNoIsolationVariable}=1): programs would then read and write this machine's files as reckon's user`,
    );
  const missing = protections.filter((protection) => !protection.active);
  if (missing.length > 0) {
    const message = `sandbox protections missing on this machine: ${missing
      .map((protection) => `${protection.name} (${protection.detail})`)
      .join("; ")}`;
    if (options.onWarning) options.onWarning(message);
    else process.emitWarning(message, "ReckonSandboxWarning");
  }
  await removeStaleCgroups(isolation.cgroups);
  const limiter = new ConcurrencyLimiter(options.concurrency ?? availableParallelism());
  const runtimes = new Map<SandboxLanguage, Promise<Runtime>>();
  const runtimeFor = (language: SandboxLanguage): Promise<Runtime> => {
    let runtime = runtimes.get(language);
    if (!runtime) {
      runtime =
        language === "python" ? resolvePythonRuntime(options.python) : resolveJavaScriptRuntime(options.node);
      runtimes.set(language, runtime);
    }
    return runtime;
  };
  return {
    protections,
    async run(request: SandboxRequest, { signal }: { signal?: AbortSignal } = {}) {
      const parsed = parseOrThrow(sandboxRequestSchema, request, "sandbox request");
      if (signal?.aborted) throw new AbortedError();
      const runtime = await runtimeFor(parsed.language);
      return limiter.run(async () => {
        const hostDir = await mkdtemp(join(options.tempRoot ?? tmpdir(), "reckon-sandbox-"));
        return runInSandbox(isolation, runtime, hostDir, parsed, signal);
      }, signal);
    },
  };
}

async function runInSandbox(
  isolation: Isolation,
  runtime: Runtime,
  hostDir: string,
  { code, stdin, limits }: { code: string; stdin?: string; limits: ResolvedSandboxLimits },
  signal: AbortSignal | undefined,
): Promise<SandboxResult> {
  let cgroups: RunCgroups | undefined;
  try {
    await writeFile(join(hostDir, runtime.fileName), code, { mode: 0o644 });
    // Without bubblewrap the program works in this directory itself, as the unprivileged uid.
    if (isolation.kind !== "bwrap" && isolation.root && isolation.setpriv)
      await chown(hostDir, unprivilegedUid, unprivilegedUid);
    if (isolation.cgroups.length > 0)
      cgroups = await RunCgroups.create(isolation.cgroups, {
        memoryBytes: limits.memoryMb * 1024 * 1024,
        maxProcesses: limits.maxProcesses,
      });
    const argv = commandLine(isolation, runtime, limits, hostDir, cgroups);
    const filter = isolation.kind === "bwrap" && isolation.seccomp ? seccompFilter() : undefined;
    const outcome = await execute(argv, hostDir, stdin, limits, isolation.kind === "bwrap", signal, filter);
    const oomKills = (await cgroups?.oomKills()) ?? 0;
    if (outcome.setupFailure) throw new ReckonError(`sandbox setup failed: ${outcome.setupFailure}`);
    if (outcome.stopReason === "aborted") throw new AbortedError();
    return classify(outcome, oomKills, runtime);
  } finally {
    await release(hostDir, cgroups);
  }
}

/** Kills what is left of a run and removes its traces; a failure here is reported, not thrown over the result. */
async function release(hostDir: string, cgroups: RunCgroups | undefined): Promise<void> {
  try {
    if (cgroups) {
      const survivors = await cgroups.killAll();
      if (survivors.length > 0) throw new Error(`processes ${survivors.join(", ")} survived SIGKILL`);
      await cgroups.remove();
    }
  } catch (error) {
    process.emitWarning(`sandbox cleanup failed: ${(error as Error).message}`, "ReckonSandboxWarning");
  }
  await rm(hostDir, { recursive: true, force: true });
}

function commandLine(
  isolation: Isolation,
  runtime: Runtime,
  limits: ResolvedSandboxLimits,
  hostDir: string,
  cgroups: RunCgroups | undefined,
): string[] {
  const hasMemoryCgroup = isolation.cgroups.some((place) => place.controller === "memory");
  const hasPidsCgroup = isolation.cgroups.some((place) => place.controller === "pids");
  let argv = runtime.command(limits, hasMemoryCgroup);
  if (isolation.root && isolation.setpriv) {
    argv = [
      isolation.setpriv,
      `--reuid=${unprivilegedUid}`,
      `--regid=${unprivilegedUid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
      ...argv,
    ];
  }
  if (isolation.kind === "bwrap")
    argv = [...bwrapArguments(isolation, runtime, limits, hostDir), "--", ...argv];
  else if (isolation.kind === "unshare") {
    argv = [
      isolation.unshare!,
      ...(isolation.root ? [] : ["--user", "--map-root-user"]),
      "--net",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--ipc",
      "--uts",
      "--",
      ...argv,
    ];
  }
  if (isolation.prlimit) {
    const cpuSeconds = Math.ceil((limits.cpuMs ?? limits.timeoutMs) / 1000);
    const rlimits = [
      `--cpu=${cpuSeconds}:${cpuSeconds + 1}`,
      `--fsize=${limits.maxFileMb * 1024 * 1024}`,
      "--core=0",
    ];
    // Counted per uid, so only worth it for the uid that reckon drops programs to.
    if (!hasPidsCgroup && isolation.root && isolation.setpriv) rlimits.push(`--nproc=${limits.maxProcesses}`);
    if (!hasMemoryCgroup && runtime.language === "python")
      rlimits.push(`--as=${limits.memoryMb * 1024 * 1024}`);
    argv = [isolation.prlimit, ...rlimits, "--", ...argv];
  }
  if (cgroups) {
    // The tree joins its cgroups before anything of the program runs.
    const joinCgroups =
      'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';
    argv = [
      "/bin/sh",
      "-c",
      joinCgroups,
      "sh",
      String(cgroups.procsFiles.length),
      ...cgroups.procsFiles,
      ...argv,
    ];
  }
  return argv;
}

function bwrapArguments(
  isolation: Isolation,
  runtime: Runtime,
  limits: ResolvedSandboxLimits,
  hostDir: string,
): string[] {
  const args = [
    isolation.bwrap!,
    ...(isolation.root ? [] : ["--unshare-user"]),
    // The program's namespace cannot nest a user namespace of its own (uid 0 there can mount).
    ...(!isolation.root && isolation.disableUserns ? ["--disable-userns"] : []),
    // The syscall filter, read from fd 4 (see execute).
    ...(isolation.seccomp ? ["--seccomp", String(seccompFd)] : []),
    "--unshare-pid",
    "--unshare-net",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
  ];
  for (const dir of systemDirectories) {
    if (!existsSync(dir)) continue;
    // Merged /usr: /bin and /lib are symlinks into /usr, recreated as such.
    if (lstatSync(dir).isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else args.push("--ro-bind", dir, dir);
  }
  const sizeBytes = String(limits.maxFileMb * 1024 * 1024);
  // Mounted before the interpreter's directories, so that one under /tmp is not hidden by them.
  args.push("--proc", "/proc", "--dev", "/dev");
  args.push("--perms", "1777", "--size", sizeBytes, "--tmpfs", "/tmp");
  // bwrap would make /etc private to root (0700), hiding the files bound below it.
  args.push("--perms", "0755", "--dir", "/etc");
  for (const file of etcFiles) args.push("--ro-bind-try", file, file);
  // An interpreter under a private directory (pyenv in /root) must be reachable by the
  // unprivileged uid: its ancestors are made as empty, searchable directories.
  const made = new Set<string>();
  for (const dir of runtime.binds) {
    for (const ancestor of ancestorsOf(dir)) {
      if (made.has(ancestor)) continue;
      made.add(ancestor);
      args.push("--perms", "0755", "--dir", ancestor);
    }
    args.push("--ro-bind", dir, dir);
  }
  args.push("--perms", "0777", "--size", sizeBytes, "--tmpfs", sandboxWorkDir);
  args.push("--ro-bind", join(hostDir, runtime.fileName), `${sandboxWorkDir}/${runtime.fileName}`);
  args.push("--chdir", sandboxWorkDir, "--clearenv", "--setenv", "PATH", programPath);
  args.push("--setenv", "HOME", sandboxWorkDir, "--setenv", "TMPDIR", "/tmp");
  // bwrap writes the child's pid here once the sandbox is set up: its absence means setup failed.
  args.push("--json-status-fd", "3");
  return args;
}

/** The descriptor bubblewrap reads the syscall filter from. */
const seccompFd = 4;

/** `/a/b/c` → `/a`, `/a/b`. */
function ancestorsOf(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

type StopReason = "wall-clock limit" | "output limit" | "aborted";

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: CappedOutput;
  stderr: CappedOutput;
  stopReason?: StopReason;
  setupFailure?: string;
  durationMs: number;
  /** bwrap reports a program killed by a signal as exit code 128 + signal. */
  codeEncodesSignal: boolean;
}

function execute(
  argv: string[],
  hostDir: string,
  stdin: string | undefined,
  limits: ResolvedSandboxLimits,
  bwrap: boolean,
  signal: AbortSignal | undefined,
  filter?: Buffer,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
      cwd: hostDir,
      env: { PATH: programPath, HOME: hostDir },
      stdio: [
        stdin === undefined ? "ignore" : "pipe",
        "pipe",
        "pipe",
        bwrap ? "pipe" : "ignore",
        filter ? "pipe" : "ignore",
      ],
      // Its own process group, so that the launcher chain can be killed as one.
      detached: true,
    });
    const stdout = new CappedOutput(limits.maxOutputBytes);
    const stderr = new CappedOutput(limits.maxOutputBytes);
    let status = "";
    let stopReason: StopReason | undefined;
    const stop = (reason: StopReason) => {
      stopReason ??= reason;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    };
    const timer = setTimeout(() => stop("wall-clock limit"), limits.timeoutMs);
    const onAbort = () => stop("aborted");
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.on("data", (chunk: Buffer) => {
      if (!stdout.push(chunk)) stop("output limit");
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      if (!stderr.push(chunk)) stop("output limit");
    });
    child.stdio[3]?.on("data", (chunk: Buffer) => {
      if (status.length < 4096) status += chunk.toString("utf8");
    });
    child.stdin?.on("error", () => {});
    child.stdin?.end(stdin);
    const filterPipe = child.stdio[seccompFd] as NodeJS.WritableStream | null | undefined;
    if (filter && filterPipe) {
      filterPipe.on("error", () => {});
      filterPipe.end(filter);
    }
    let exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
    child.on("exit", (code, exitSignal) => {
      exit = { code, signal: exitSignal, at: performance.now() };
      clearTimeout(timer);
      // A pipe held open by a process outside the tree must not hold up the result.
      setTimeout(() => {
        for (const stream of child.stdio) stream?.destroy();
      }, 500).unref();
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(new ReckonError(`sandbox could not start ${argv[0]}: ${error.message}`));
    });
    child.on("close", () => {
      signal?.removeEventListener("abort", onAbort);
      const ended = exit ?? { code: null, signal: null, at: performance.now() };
      const launched = !bwrap || status.includes('"child-pid"');
      resolve({
        code: ended.code,
        signal: ended.signal,
        stdout,
        stderr,
        stopReason,
        setupFailure:
          launched || stopReason
            ? undefined
            : stderr.text().trim() || `exit code ${ended.code ?? ended.signal}`,
        durationMs: Math.round(ended.at - started),
        codeEncodesSignal: bwrap,
      });
    });
  });
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, value]) => value === number);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

function classify(outcome: Outcome, oomKills: number, runtime: Runtime): SandboxResult {
  let exitCode = outcome.code;
  let signal = outcome.signal;
  if (outcome.codeEncodesSignal && exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
    signal = signalName(exitCode - 128);
    if (signal) exitCode = null;
  }
  const stderr = outcome.stderr.text();
  let status: SandboxStatus;
  let reason: string | null = outcome.stopReason ?? null;
  if (outcome.stopReason === "wall-clock limit") status = "timeout";
  else if (outcome.stopReason === "output limit") status = "killed";
  else if (oomKills > 0) [status, reason] = ["memory", "memory limit"];
  else if (signal === "SIGXCPU") [status, reason] = ["timeout", "CPU time limit"];
  else if (outOfMemoryMessage(runtime, stderr)) [status, reason] = ["memory", "memory limit"];
  else if (signal !== null) status = "killed";
  else status = exitCode === 0 ? "ok" : "error";
  return {
    status,
    exitCode,
    signal,
    reason,
    stdout: outcome.stdout.text(),
    stderr,
    truncated: outcome.stdout.overflowed || outcome.stderr.overflowed,
    durationMs: outcome.durationMs,
  };
}

/** The interpreter's own report of running out of memory under an address-space or heap limit. */
function outOfMemoryMessage(runtime: Runtime, stderr: string): boolean {
  if (runtime.language === "javascript") return stderr.includes("JavaScript heap out of memory");
  const lines = stderr.trimEnd().split("\n");
  return /^MemoryError\b/.test(lines[lines.length - 1] ?? "");
}
