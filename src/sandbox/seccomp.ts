/**
 * The sandbox's syscall filter: a classic BPF program for seccomp, built here (no compiler, no
 * library) and handed to bubblewrap (`--seccomp FD`), which installs it just before the
 * program starts. It refuses what a program that computes an answer never needs and what
 * breaks out of or attacks a sandbox: new user namespaces (`unshare`, `clone` with
 * CLONE_NEWUSER, `setns`), mounts, kernel keyrings, `ptrace` and cross-process memory access,
 * eBPF, perf events, userfaultfd, io_uring (which bypasses the filter), module loading, kexec,
 * reboot, swap, clock setting; and every syscall of another ABI (x32, or a foreign
 * architecture). Refused calls fail with EPERM (ENOSYS for clone3 and io_uring, so that libc
 * and libuv fall back to what the filter can inspect).
 */

/** Syscalls denied, by name. */
const denied = [
  "unshare",
  "setns",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "open_tree",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "keyctl",
  "add_key",
  "request_key",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "syslog",
  "quotactl",
  "open_by_handle_at",
  "name_to_handle_at",
  "settimeofday",
  "clock_settime",
  "adjtimex",
  "clock_adjtime",
] as const;
/** Refused as if the kernel lacked them: callers fall back to calls the filter can see into. */
const absent = ["clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"] as const;

type SyscallName = (typeof denied)[number] | (typeof absent)[number] | "clone";

interface Architecture {
  /** AUDIT_ARCH_* of seccomp_data.arch. */
  audit: number;
  /** Syscall numbers at or above this belong to another ABI (x32 on x86-64). */
  foreignAbove?: number;
  numbers: Record<SyscallName, number>;
}

const x64: Architecture = {
  audit: 0xc000003e,
  foreignAbove: 0x40000000,
  numbers: {
    clone: 56,
    clone3: 435,
    unshare: 272,
    setns: 308,
    mount: 165,
    umount2: 166,
    pivot_root: 155,
    chroot: 161,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    keyctl: 250,
    add_key: 248,
    request_key: 249,
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    bpf: 321,
    perf_event_open: 298,
    userfaultfd: 323,
    kexec_load: 246,
    kexec_file_load: 320,
    init_module: 175,
    finit_module: 313,
    delete_module: 176,
    reboot: 169,
    swapon: 167,
    swapoff: 168,
    acct: 163,
    syslog: 103,
    quotactl: 179,
    open_by_handle_at: 304,
    name_to_handle_at: 303,
    settimeofday: 164,
    clock_settime: 227,
    adjtimex: 159,
    clock_adjtime: 305,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
  },
};

const arm64: Architecture = {
  audit: 0xc00000b7,
  numbers: {
    clone: 220,
    clone3: 435,
    unshare: 97,
    setns: 268,
    mount: 40,
    umount2: 39,
    pivot_root: 41,
    chroot: 51,
    open_tree: 428,
    move_mount: 429,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    keyctl: 219,
    add_key: 217,
    request_key: 218,
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    bpf: 280,
    perf_event_open: 241,
    userfaultfd: 282,
    kexec_load: 104,
    kexec_file_load: 294,
    init_module: 105,
    finit_module: 273,
    delete_module: 106,
    reboot: 142,
    swapon: 224,
    swapoff: 225,
    acct: 89,
    syslog: 116,
    quotactl: 60,
    open_by_handle_at: 265,
    name_to_handle_at: 264,
    settimeofday: 170,
    clock_settime: 112,
    adjtimex: 171,
    clock_adjtime: 266,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
  },
};

const architectures: Record<string, Architecture> = { x64, arm64 };

// Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const RET_KILL_PROCESS = 0x80000000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
// Offsets in struct seccomp_data: nr, arch, then args[] after the instruction pointer.
const offsetNr = 0;
const offsetArch = 4;
/** The low 32 bits of args[0] (little-endian), where clone's flags are. */
const offsetArg0 = 16;

interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Whether this process's architecture has a filter (x86-64 and arm64 do). */
export function seccompSupported(arch: string = process.arch): boolean {
  return process.platform === "linux" && Object.hasOwn(architectures, arch);
}

/** The filter for `arch` as bytes of `struct sock_filter[]`, what `bwrap --seccomp FD` reads. */
export function seccompFilter(arch: string = process.arch): Buffer {
  const target = Object.hasOwn(architectures, arch) ? architectures[arch] : undefined;
  if (!target) throw new Error(`no syscall filter for the ${arch} architecture`);
  const program: Instruction[] = [];
  const emit = (code: number, k: number, jt = 0, jf = 0) => program.push({ code, jt, jf, k });
  // Labels are resolved after the checks are laid out: jumps go forward to the shared returns.
  const jumps: { at: number; to: "eperm" | "enosys" }[] = [];

  emit(LD_W_ABS, offsetArch);
  emit(JEQ_K, target.audit, 1, 0);
  emit(RET_K, RET_KILL_PROCESS);
  emit(LD_W_ABS, offsetNr);
  if (target.foreignAbove !== undefined) {
    jumps.push({ at: program.length, to: "eperm" });
    emit(JGE_K, target.foreignAbove);
  }
  for (const name of denied) {
    jumps.push({ at: program.length, to: "eperm" });
    emit(JEQ_K, target.numbers[name]);
  }
  for (const name of absent) {
    jumps.push({ at: program.length, to: "enosys" });
    emit(JEQ_K, target.numbers[name]);
  }
  // clone: allowed, unless it asks for a new user namespace; anything else: allowed.
  emit(JEQ_K, target.numbers.clone, 0, 2);
  emit(LD_W_ABS, offsetArg0);
  jumps.push({ at: program.length, to: "eperm" });
  emit(JSET_K, CLONE_NEWUSER);
  const labels = { allow: program.length, eperm: program.length + 1, enosys: program.length + 2 };
  emit(RET_K, RET_ALLOW);
  emit(RET_K, RET_ERRNO | EPERM);
  emit(RET_K, RET_ERRNO | ENOSYS);
  for (const { at, to } of jumps) {
    const offset = labels[to] - at - 1;
    if (offset > 255) throw new Error("syscall filter too long for its jumps");
    program[at]!.jt = offset;
  }
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, i) => {
    bytes.writeUInt16LE(instruction.code, i * 8);
    bytes.writeUInt8(instruction.jt, i * 8 + 2);
    bytes.writeUInt8(instruction.jf, i * 8 + 3);
    bytes.writeUInt32LE(instruction.k >>> 0, i * 8 + 4);
  });
  return bytes;
}
