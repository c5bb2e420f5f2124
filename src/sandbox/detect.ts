/** Finds, once per process, which of Linux's isolation mechanisms work on this machine. */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { type CgroupController, type CgroupPlace, locateCgroup } from "./cgroup.js";
import { findExecutable } from "./runtime.js";
import { seccompFilter, seccompSupported } from "./seccomp.js";

/** The uid programs run as when reckon runs as root: `nobody`, which owns nothing. */
export const unprivilegedUid = 65534;

export interface Isolation {
  /** `bwrap` namespaces plus a read-only view of the system; `unshare` namespaces only; `none`. */
  kind: "bwrap" | "unshare" | "none";
  bwrap?: string;
  unshare?: string;
  /** Present when running as root: drops the program to an unprivileged uid. */
  setpriv?: string;
  prlimit?: string;
  cgroups: CgroupPlace[];
  /** bwrap installs reckon's syscall filter (`--seccomp`): no new user namespaces, no mounts, … */
  seccomp?: boolean;
  /** bwrap's `--disable-userns`: the sandbox's own user namespace cannot nest another. */
  disableUserns?: boolean;
  /** Why each missing piece is missing, for the report. */
  missing: Partial<
    Record<"bwrap" | "unshare" | "setpriv" | "prlimit" | "seccomp" | "userns" | CgroupController, string>
  >;
  root: boolean;
}

/** Directories searched for the isolation tools, whatever PATH says. */
const toolPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function works(command: string, args: string[], input?: Buffer): string | undefined {
  const result = spawnSync(command, args, {
    env: { PATH: toolPath },
    timeout: 10_000,
    encoding: "utf8",
    input,
  });
  if (result.status === 0) return undefined;
  return (result.stderr || result.error?.message || `exit ${result.status}`).trim().split("\n")[0];
}

/** Tries each mechanism for real: a tool can be installed yet refused by the kernel or a policy. */
export function detectIsolation(): Isolation {
  const root = process.getuid?.() === 0;
  const missing: Isolation["missing"] = {};
  const isolation: Isolation = { kind: "none", cgroups: [], missing, root };
  if (process.platform !== "linux") {
    const reason = `not available on ${process.platform}`;
    Object.assign(missing, { bwrap: reason, unshare: reason, setpriv: reason, prlimit: reason });
    Object.assign(missing, { memory: reason, pids: reason });
    return isolation;
  }
  const truePath = findExecutable("true", toolPath) ?? "/bin/true";

  const setpriv = findExecutable("setpriv", toolPath);
  if (!root) missing.setpriv = "not needed: reckon does not run as root";
  else if (!setpriv) missing.setpriv = "setpriv not found (Debian/Ubuntu: util-linux)";
  else isolation.setpriv = setpriv;

  const prlimit = findExecutable("prlimit", toolPath);
  if (prlimit) isolation.prlimit = prlimit;
  else missing.prlimit = "prlimit not found (Debian/Ubuntu: util-linux)";

  const bwrap = findExecutable("bwrap", toolPath);
  if (!bwrap) missing.bwrap = "bubblewrap not found (Debian/Ubuntu: apt-get install bubblewrap)";
  else {
    const failure = works(bwrap, [
      ...(root ? [] : ["--unshare-user"]),
      "--unshare-pid",
      "--unshare-net",
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--",
      truePath,
    ]);
    if (failure) missing.bwrap = `bubblewrap is installed but cannot create namespaces: ${failure}`;
    else isolation.bwrap = bwrap;
  }
  if (isolation.bwrap) {
    const base = [...(root ? [] : ["--unshare-user"]), "--unshare-pid", "--ro-bind", "/", "/"];
    if (!seccompSupported()) missing.seccomp = `no syscall filter for the ${process.arch} architecture`;
    else {
      // The filter is read from the probe's standard input.
      const failure = works(isolation.bwrap, [...base, "--seccomp", "0", "--", truePath], seccompFilter());
      if (failure) missing.seccomp = `bubblewrap refused the syscall filter: ${failure}`;
      else isolation.seccomp = true;
    }
    if (!root) {
      const failure = works(isolation.bwrap, [...base, "--disable-userns", "--", truePath]);
      if (failure)
        missing.userns = `bubblewrap cannot disable user namespaces (0.8 or newer can): ${failure}`;
      else isolation.disableUserns = true;
    }
  } else {
    missing.seccomp = "needs bubblewrap";
    missing.userns = "needs bubblewrap";
  }

  const unshare = findExecutable("unshare", toolPath);
  if (!unshare) missing.unshare = "unshare not found (Debian/Ubuntu: util-linux)";
  else {
    const failure = works(unshare, [
      ...(root ? [] : ["--user", "--map-root-user"]),
      "--net",
      "--pid",
      "--fork",
      "--",
      truePath,
    ]);
    if (failure) missing.unshare = `unshare cannot create namespaces: ${failure}`;
    else isolation.unshare = unshare;
  }
  isolation.kind = isolation.bwrap ? "bwrap" : isolation.unshare ? "unshare" : "none";

  for (const controller of ["memory", "pids"] as const) {
    const place = locateCgroup(controller);
    if (typeof place === "string") {
      missing[controller] = place;
      continue;
    }
    // Creating a cgroup is the only reliable test of permission to do so.
    const probe = join(place.parent, `reckon-sandbox-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      isolation.cgroups.push(place);
    } catch (error) {
      missing[controller] =
        `cannot create cgroups under ${place.parent}: ${(error as NodeJS.ErrnoException).code} (run as root or delegate the cgroup)`;
    }
  }
  return isolation;
}

let cached: Isolation | undefined;

export function isolationOfThisMachine(): Isolation {
  cached ??= detectIsolation();
  return cached;
}
