/** Which protections a sandbox gives on this machine, in words a user can act on. */
import type { Isolation } from "./detect.js";
import { unprivilegedUid } from "./detect.js";
import type { Protection } from "./sandbox.js";

export function describeProtections(isolation: Isolation): Protection[] {
  const { kind, missing } = isolation;
  const namespaces = kind !== "none";
  const noNamespaces = `no namespaces: ${[missing.bwrap, missing.unshare].filter(Boolean).join("; ") || "none used"}`;
  const memoryCgroup = isolation.cgroups.some((place) => place.controller === "memory");
  const pidsCgroup = isolation.cgroups.some((place) => place.controller === "pids");
  const dropsUid = isolation.root && isolation.setpriv !== undefined;
  const rlimits = isolation.prlimit !== undefined;
  const protections: Protection[] = [
    {
      name: "separate process tree",
      active: namespaces,
      detail: namespaces
        ? `pid namespace (${kind}): every process dies when the program exits or is killed`
        : `${noNamespaces}; only the process group is killed, so a program that calls setsid can outlive its run`,
    },
    {
      name: "no network",
      active: namespaces,
      detail: namespaces ? `network namespace (${kind}) without interfaces` : noNamespaces,
    },
    {
      name: "filesystem isolation",
      active: kind === "bwrap",
      detail:
        kind === "bwrap"
          ? "bubblewrap: system directories read-only, no home or /etc secrets, private size-limited /tmp and work directory"
          : `the program sees this machine's files with the rights of its user (${missing.bwrap ?? "bubblewrap is not used"})`,
    },
    {
      name: "no user namespaces",
      active: isolation.seccomp === true || isolation.disableUserns === true,
      detail:
        isolation.seccomp || isolation.disableUserns
          ? `a program cannot make a user namespace of its own (${[
              isolation.seccomp ? "syscall filter: unshare, setns and clone with CLONE_NEWUSER refused" : "",
              isolation.disableUserns ? "bubblewrap --disable-userns" : "",
            ]
              .filter(Boolean)
              .join("; ")}), so it cannot become root in one and mount`
          : `a program can make a user namespace, become uid 0 in it and mount (${missing.seccomp ?? missing.userns})`,
    },
    {
      name: "syscall filter",
      active: isolation.seccomp === true,
      detail: isolation.seccomp
        ? "seccomp: mounts, namespaces, keyrings, ptrace, bpf, perf, userfaultfd, io_uring, modules, kexec, reboot and clock setting refused; other ABIs refused"
        : `every syscall the kernel allows a user is open (${missing.seccomp})`,
    },
    {
      name: "unprivileged user",
      active: !isolation.root || dropsUid,
      detail: !isolation.root
        ? `runs as reckon's own user (uid ${process.getuid?.()})`
        : dropsUid
          ? `uid ${unprivilegedUid} (nobody), no capabilities, no_new_privs`
          : `runs as root: ${missing.setpriv}`,
    },
    {
      name: "memory limit",
      active: memoryCgroup,
      detail: memoryCgroup
        ? "memory cgroup for the whole tree, swap included"
        : `${missing.memory}; only the address space of each Python process${rlimits ? "" : " (not even that: prlimit is missing)"} and Node's heap are limited`,
    },
    {
      name: "process limit",
      active: pidsCgroup || (dropsUid && rlimits),
      detail: pidsCgroup
        ? "pids cgroup for the whole tree (threads count)"
        : dropsUid && rlimits
          ? `${missing.pids}; RLIMIT_NPROC of uid ${unprivilegedUid} instead, shared by runs at the same time`
          : `${missing.pids}; a fork bomb is stopped only by the time limit`,
    },
    {
      name: "CPU time limit",
      active: rlimits,
      detail: rlimits ? "RLIMIT_CPU per process" : `${missing.prlimit}; only the wall-clock limit applies`,
    },
    {
      name: "file size limit",
      active: kind === "bwrap" || rlimits,
      detail:
        kind === "bwrap"
          ? "size-limited tmpfs for the work directory and /tmp, RLIMIT_FSIZE per file"
          : rlimits
            ? "RLIMIT_FSIZE per file only"
            : `${missing.prlimit}`,
    },
    { name: "wall-clock limit", active: true, detail: "the run is killed at its timeout" },
    { name: "empty environment", active: true, detail: "only PATH and HOME (the work directory) are set" },
    {
      name: "output limit",
      active: true,
      detail: "stdout and stderr are cut at the limit and the program killed",
    },
    { name: "fresh work directory", active: true, detail: "created for the run and removed after it" },
  ];
  return protections;
}

/** The report of `reckon sandbox doctor`: one line per protection. */
export function formatProtections(protections: readonly Protection[]): string {
  const lines = protections.map(
    (protection) => `${protection.active ? "active " : "MISSING"}  ${protection.name}: ${protection.detail}`,
  );
  const missing = protections.filter((protection) => !protection.active).length;
  lines.push(
    missing === 0
      ? "All protections are active."
      : `${missing} protection(s) missing: untrusted programs are less contained on this machine.`,
  );
  return `${lines.join("\n")}\n`;
}
