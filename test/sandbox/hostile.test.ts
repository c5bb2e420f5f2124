/**
 * Programs that try to break out of the sandbox, run for real: each is contained, reported,
 * and leaves no process running and no file written outside its run.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError } from "../../src/core/errors.js";
import { isolationOfThisMachine } from "../../src/sandbox/detect.js";
import { createSandbox } from "../../src/sandbox/linux.js";
import type { Sandbox, SandboxRequest } from "../../src/sandbox/sandbox.js";
import { processesMatching } from "./processes.js";

const scratch = mkdtempSync(join(tmpdir(), "reckon-hostile-"));
// The fallback without bubblewrap works in the real directory, as uid nobody: it must reach it.
chmodSync(scratch, 0o755);
// Where runs make their work directories: must be empty again after every run.
const workRoot = join(scratch, "runs");
// A directory anyone may write to, as /tmp is: the sandbox must still keep programs out.
const openDir = join(scratch, "open");
const secret = `secret-${randomUUID()}`;
const homeSecretFile = join(homedir(), `.reckon-hostile-${randomUUID()}`);
// Each run's own processes are found by this process's pid in their cgroup's name.
const cgroupMarker = `reckon-sandbox-${process.pid}-`;

let sandbox: Sandbox;
const warnings: string[] = [];

beforeAll(async () => {
  mkdirSync(workRoot, { mode: 0o755 });
  mkdirSync(openDir);
  chmodSync(openDir, 0o777);
  writeFileSync(homeSecretFile, secret, { mode: 0o644 });
  process.env.RECKON_HOSTILE_SECRET = secret;
  sandbox = await createSandbox({ tempRoot: workRoot, onWarning: (message) => warnings.push(message) });
});

afterAll(() => {
  delete process.env.RECKON_HOSTILE_SECRET;
  rmSync(homeSecretFile, { force: true });
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs a program and checks what every run must leave behind: nothing. */
async function contained(request: SandboxRequest, marker?: string) {
  const result = await sandbox.run(request);
  expect(readdirSync(workRoot)).toEqual([]);
  expect(readdirSync(openDir)).toEqual([]);
  expect(processesMatching(cgroupMarker)).toEqual([]);
  if (marker) expect(processesMatching(marker)).toEqual([]);
  return result;
}

/** Forks until the process limit refuses, then prints how many it got and the error. */
const countForksUntilRefused = [
  "import os, time",
  "forks = 0",
  "while True:",
  "    try:",
  "        if os.fork() == 0:",
  "            time.sleep(60)",
  "            os._exit(0)",
  "        forks += 1",
  "    except OSError as error:",
  "        print(forks, type(error).__name__)",
  "        break",
].join("\n");

describe("sandbox on this machine", () => {
  it("has every protection active, and warned about none", () => {
    const missing = sandbox.protections.filter((protection) => !protection.active);
    expect(missing).toEqual([]);
    expect(warnings).toEqual([]);
    expect(isolationOfThisMachine().kind).toBe("bwrap");
  });

  it("runs a plain program and reports its output, exit code and duration", async () => {
    const result = await contained({
      language: "python",
      code: "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)",
    });
    expect(result).toMatchObject({
      status: "error",
      exitCode: 3,
      signal: null,
      stdout: "out\n",
      stderr: "err\n",
    });
    expect(result.durationMs).toBeGreaterThan(0);
    const echo = await contained({ language: "python", code: "print(input()[::-1])", stdin: "olleh\n" });
    expect(echo).toMatchObject({ status: "ok", stdout: "hello\n" });
    const js = await contained({ language: "javascript", code: "console.log(6 * 7)" });
    expect(js).toMatchObject({ status: "ok", exitCode: 0, stdout: "42\n", truncated: false });
  });
});

describe("hostile programs", () => {
  it("fork bomb: stopped at the process limit, and every fork dies with the run", async () => {
    const marker = `bomb-${randomUUID()}`;
    // Every process re-executes the bomb with the marker on its command line, so survivors would show.
    const bomb = `import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n# ${marker}`;
    const result = await contained(
      {
        language: "python",
        code: `import os, sys\nos.execv(sys.executable, [sys.executable, "-c", ${JSON.stringify(bomb)}])`,
        limits: { timeoutMs: 3_000, maxProcesses: 32 },
      },
      marker,
    );
    expect(result.status).toBe("timeout");
    expect(result.durationMs).toBeLessThan(10_000);

    const counted = await contained({
      language: "python",
      code: countForksUntilRefused,
      limits: { maxProcesses: 20, timeoutMs: 5_000 },
    });
    expect(counted.status).toBe("ok");
    const [forks, error] = counted.stdout.trim().split(" ");
    expect(Number(forks)).toBeLessThan(20);
    expect(error).toBe("BlockingIOError");
  });

  it("memory bomb: killed and reported as out of memory", async () => {
    const python = await contained({
      language: "python",
      code: "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))",
      limits: { memoryMb: 128, timeoutMs: 10_000 },
    });
    expect(python).toMatchObject({ status: "memory", reason: "memory limit" });
    const js = await contained({
      language: "javascript",
      code: "const blocks = []; for (;;) blocks.push(Buffer.alloc(1e7, 1));",
      limits: { memoryMb: 128, timeoutMs: 10_000 },
    });
    expect(js.status).toBe("memory");
  });

  it("infinite loop: killed at the wall-clock limit", async () => {
    const python = await contained({
      language: "python",
      code: "while True:\n    pass",
      limits: { timeoutMs: 1_500 },
    });
    expect(python).toMatchObject({ status: "timeout", reason: "wall-clock limit", exitCode: null });
    expect(python.durationMs).toBeGreaterThanOrEqual(1_500);
    expect(python.durationMs).toBeLessThan(6_000);
    const js = await contained({ language: "javascript", code: "for (;;) {}", limits: { timeoutMs: 1_500 } });
    expect(js.status).toBe("timeout");
  });

  it("infinite loop: stopped by the CPU-time limit when that comes first", async () => {
    const result = await contained({
      language: "python",
      code: "while True:\n    pass",
      // A generous wall clock: on a busy machine one CPU second can take several.
      limits: { timeoutMs: 30_000, cpuMs: 1_000 },
    });
    expect(result).toMatchObject({ status: "timeout", reason: "CPU time limit", signal: "SIGXCPU" });
  });

  it("a child that tries to outlive the run (double fork, setsid, nohup) dies with it", async () => {
    const marker = `escape-${randomUUID()}`;
    const python = await contained(
      {
        language: "python",
        code: [
          "import os, subprocess, sys",
          "if os.fork() == 0:",
          "    os.setsid()",
          "    if os.fork() == 0:",
          `        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600) # ${marker}"])`,
          "    os._exit(0)",
          `subprocess.Popen(["nohup", "sleep", "600.${marker.length}"], start_new_session=True)`,
          `subprocess.Popen(["sh", "-c", "sleep 600 # ${marker} &"], start_new_session=True)`,
          "print('parent done')",
        ].join("\n"),
      },
      marker,
    );
    expect(python).toMatchObject({ status: "ok", stdout: "parent done\n" });
    const js = await contained(
      {
        language: "javascript",
        code: `require("node:child_process").spawn("${process.execPath}", ["-e", "setTimeout(() => {}, 600000) // ${marker}"], { detached: true, stdio: "ignore" }).unref();`,
      },
      marker,
    );
    expect(js.status).toBe("ok");
  });

  it("writing outside the work directory reaches nothing outside the sandbox", async () => {
    const name = `written-${randomUUID()}`;
    const targets = [openDir, tmpdir(), "/var/tmp", "/dev/shm", homedir(), "/etc", "/usr", "/work/.."];
    const result = await contained({
      language: "python",
      code: [
        "import os",
        `for target in ${JSON.stringify(targets)}:`,
        "    try:",
        `        with open(os.path.join(target, ${JSON.stringify(name)}), "w") as f:`,
        "            f.write('x')",
        "        print('wrote', target)",
        "    except OSError as error:",
        "        print('refused', target, type(error).__name__)",
        "with open('inside.txt', 'w') as f:",
        "    f.write('fine')",
        "print('inside', open('inside.txt').read())",
      ].join("\n"),
    });
    expect(result.status).toBe("ok");
    expect(result.stdout).toContain("inside fine");
    for (const target of targets) expect(existsSync(join(target, name))).toBe(false);
    expect(readdirSync(openDir)).toEqual([]);
  });

  it("a large file is refused at the size limit", async () => {
    const result = await contained({
      language: "python",
      code: "with open('big', 'wb') as f:\n    f.write(b'x' * (8 * 1024 * 1024))",
      limits: { maxFileMb: 4 },
    });
    expect(result.status).not.toBe("ok");
  });

  it("secrets in the environment and HOME are out of reach", async () => {
    const result = await contained({
      language: "python",
      code: [
        "import os, glob",
        "print(dict(os.environ))",
        `for path in [${JSON.stringify(homeSecretFile)}, "/proc/1/environ", "/etc/shadow", "/etc/passwd"]:`,
        "    try:",
        "        print(path, open(path, errors='replace').read())",
        "    except OSError as error:",
        "        print(path, type(error).__name__)",
        `print(glob.glob(${JSON.stringify(join(homedir(), "*"))}), glob.glob(${JSON.stringify(join(homedir(), ".*"))}))`,
      ].join("\n"),
    });
    expect(result.status).toBe("ok");
    expect(result.stdout).not.toContain(secret);
    expect(result.stdout).toMatch(
      new RegExp(`${homeSecretFile.replaceAll(".", "\\.")} (FileNotFoundError|PermissionError)`),
    );
    expect(result.stdout).toContain(
      "{'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/work', 'TMPDIR': '/tmp'",
    );
    const js = await contained({ language: "javascript", code: "console.log(JSON.stringify(process.env))" });
    expect(js.stdout).not.toContain(secret);
    expect(Object.keys(JSON.parse(js.stdout)).sort()).toEqual(["HOME", "PATH", "PWD", "TMPDIR"]);
  });

  describe("network", () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections++;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("a loopback port of the host cannot be reached", async () => {
      const python = await contained({
        language: "python",
        code: [
          "import socket",
          "try:",
          `    s = socket.create_connection(("127.0.0.1", ${port}), timeout=2)`,
          "    print('connected', s.recv(100))",
          "except OSError as error:",
          "    print('refused', type(error).__name__)",
        ].join("\n"),
      });
      expect(python.stdout).toMatch(/^refused /);
      const js = await contained({
        language: "javascript",
        code: `require("node:net").connect(${port}, "127.0.0.1").on("connect", () => console.log("connected")).on("error", (e) => console.log("refused", e.code));`,
      });
      expect(js.stdout).toMatch(/^refused /);
      expect(connections).toBe(0);
    });
  });

  it("user namespaces, mounts and other kernel surfaces are refused", async () => {
    const result = await contained({
      language: "python",
      code: [
        "import ctypes, os, subprocess",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "def errno_of(value):",
        "    return 'ok' if value == 0 else os.strerror(ctypes.get_errno())",
        "print('unshare', errno_of(libc.unshare(0x10000000)))",
        "print('mount', errno_of(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))",
        "print('setns', errno_of(libc.setns(0, 0)))",
        "print('ptrace', errno_of(libc.ptrace(16, 1, None, None)))",
        "tool = subprocess.run(['unshare', '-r', 'id', '-u'], capture_output=True, text=True)",
        "print('unshare -r', tool.returncode != 0, tool.stdout.strip() != '0')",
        // Ordinary work still runs: processes, threads, files.
        "print('fork', subprocess.run(['true']).returncode)",
        "import threading; t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()",
      ].join("\n"),
    });
    expect(result.status).toBe("ok");
    expect(result.stdout).toBe(
      [
        "unshare Operation not permitted",
        "mount Operation not permitted",
        "setns Operation not permitted",
        "ptrace Operation not permitted",
        "unshare -r True True",
        "fork 0",
        "thread",
        "",
      ].join("\n"),
    );
    expect(sandbox.protections.find((p) => p.name === "no user namespaces")?.active).toBe(true);
    expect(sandbox.protections.find((p) => p.name === "syscall filter")?.active).toBe(true);
  });

  it("flooding stdout or stderr: cut at the output limit, marked, and killed", async () => {
    const result = await contained({
      language: "python",
      code: "while True:\n    print('x' * 1000)",
      limits: { maxOutputBytes: 50_000 },
    });
    expect(result).toMatchObject({ status: "killed", reason: "output limit", truncated: true });
    expect(result.stdout.startsWith("x".repeat(1000))).toBe(true);
    expect(result.stdout.endsWith("[output truncated at 50000 bytes]")).toBe(true);
    expect(result.stdout.length).toBeLessThan(50_100);
    const js = await contained({
      language: "javascript",
      code: "for (;;) process.stderr.write('y'.repeat(1000));",
      limits: { maxOutputBytes: 50_000 },
    });
    expect(js).toMatchObject({ status: "killed", reason: "output limit", truncated: true });
  });

  it("an aborted run is killed and rejects", async () => {
    const marker = `abort-${randomUUID()}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expect(
      sandbox.run(
        { language: "python", code: `import time\ntime.sleep(60) # ${marker}` },
        { signal: controller.signal },
      ),
    ).rejects.toThrow(AbortedError);
    expect(readdirSync(workRoot)).toEqual([]);
    expect(processesMatching(cgroupMarker)).toEqual([]);
  });
});

describe("fallbacks on machines with fewer protections", () => {
  it("refuses to run anything without filesystem isolation unless the risk is accepted", async () => {
    for (const kind of ["unshare", "none"] as const) {
      const attempt = createSandbox({
        tempRoot: workRoot,
        isolation: { ...isolationOfThisMachine(), kind, missing: { bwrap: "bubblewrap not found" } },
        onWarning: () => {},
      });
      await expect(attempt).rejects.toThrow(/cannot isolate the filesystem[\s\S]*--unsafe-no-isolation/);
    }
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it("without bubblewrap (unshare): escaped children still die and the network is still cut", async () => {
    const fallback = await createSandbox({
      tempRoot: workRoot,
      isolation: { ...isolationOfThisMachine(), kind: "unshare" },
      unsafeNoIsolation: true,
      onWarning: () => {},
    });
    expect(fallback.protections.find((p) => p.name === "filesystem isolation")?.active).toBe(false);
    const marker = `fallback-${randomUUID()}`;
    const result = await fallback.run({
      language: "python",
      code: [
        "import os, socket, subprocess",
        `subprocess.Popen(["sh", "-c", "sleep 600 # ${marker} &"], start_new_session=True)`,
        "try:",
        "    socket.create_connection(('1.1.1.1', 80), timeout=2)",
        "    print('online')",
        "except OSError:",
        "    print('offline')",
        "print(os.getuid())",
      ].join("\n"),
    });
    expect(result).toMatchObject({ status: "ok", stdout: "offline\n65534\n" });
    expect(readdirSync(workRoot)).toEqual([]);
    expect(processesMatching(marker)).toEqual([]);
    expect(processesMatching(cgroupMarker)).toEqual([]);
  });

  it("without cgroups: memory and processes bounded by rlimits, and the missing cgroup is warned about", async () => {
    const told: string[] = [];
    const fallback = await createSandbox({
      tempRoot: workRoot,
      isolation: { ...isolationOfThisMachine(), cgroups: [] },
      onWarning: (message) => told.push(message),
    });
    expect(told).toHaveLength(1);
    expect(told[0]).toContain("memory limit");
    expect(fallback.protections.find((p) => p.name === "process limit")).toMatchObject({ active: true });
    const memory = await fallback.run({
      language: "python",
      code: "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))",
      limits: { memoryMb: 128 },
    });
    expect(memory).toMatchObject({ status: "memory", reason: "memory limit" });
    expect(memory.stderr).toContain("MemoryError");
    // RLIMIT_NPROC counts every process of the uid, so other runs can only lower what this one gets.
    const forks = await fallback.run({
      language: "python",
      code: countForksUntilRefused,
      limits: { maxProcesses: 20, timeoutMs: 5_000 },
    });
    expect(forks.status).toBe("ok");
    const [count, error] = forks.stdout.trim().split(" ");
    expect(Number(count)).toBeLessThan(20);
    expect(error).toBe("BlockingIOError");
    expect(readdirSync(workRoot)).toEqual([]);
  });
});
