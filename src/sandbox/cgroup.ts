/**
 * One cgroup per run, for the limits that must hold for a whole process tree whatever its
 * uid: memory (with swap) and the number of processes. cgroup v1 (one hierarchy per
 * controller) and v2 (unified) are both handled; runs are nested under this process's own
 * cgroup so that any limit already placed on it still applies.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type CgroupController = "memory" | "pids";

/** Where runs of one controller are created, or why they cannot be. */
export interface CgroupPlace {
  controller: CgroupController;
  version: 1 | 2;
  /** The directory under which run cgroups are made (this process's own cgroup). */
  parent: string;
}

const cgroupRoot = "/sys/fs/cgroup";

/** This process's cgroup path per v1 controller, and its v2 path under the key "". */
function ownCgroupPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return paths;
  }
  for (const line of text.split("\n")) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    for (const controller of match[1]!.split(",")) paths.set(controller, match[2]!);
  }
  return paths;
}

/** Finds where run cgroups of `controller` can be created, or returns the reason why not. */
export function locateCgroup(controller: CgroupController): CgroupPlace | string {
  const own = ownCgroupPaths();
  const v1Mount = join(cgroupRoot, controller);
  const v1Path = own.get(controller);
  if (v1Path !== undefined && existsSync(join(v1Mount, "cgroup.procs"))) {
    return { controller, version: 1, parent: join(v1Mount, v1Path) };
  }
  const v2Path = own.get("");
  if (v2Path !== undefined && existsSync(join(cgroupRoot, "cgroup.controllers"))) {
    const parent = join(cgroupRoot, v2Path);
    let enabled = "";
    try {
      enabled = readFileSync(join(parent, "cgroup.subtree_control"), "utf8");
    } catch {}
    if (enabled.split(/\s+/).includes(controller)) return { controller, version: 2, parent };
    return `the ${controller} controller is not enabled for ${parent} (cgroup v2 needs a delegated subtree)`;
  }
  return `no ${controller} cgroup hierarchy at ${v1Mount}`;
}

let runCounter = 0;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the empty cgroups that runs of a process that died abruptly left behind (their
 * processes died with the sandbox's pid namespace; the directories stay until removed).
 */
export async function removeStaleCgroups(places: readonly CgroupPlace[]): Promise<void> {
  for (const place of places) {
    let entries: string[];
    try {
      entries = await readdir(place.parent);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const owner = /^reckon-sandbox-(\d+)-\d+$/.exec(entry);
      if (!owner || isAlive(Number(owner[1]))) continue;
      // A cgroup that still has processes refuses removal (EBUSY): it is left alone.
      await rmdir(join(place.parent, entry)).catch(() => {});
    }
  }
}

/** The cgroups of one run, created with its limits and removed once its processes are gone. */
export class RunCgroups {
  private constructor(private readonly dirs: Map<CgroupController, { dir: string; version: 1 | 2 }>) {}

  /** Creates one cgroup per place with the run's limits; a place that fails is reported by `create`'s caller. */
  static async create(
    places: readonly CgroupPlace[],
    limits: { memoryBytes: number; maxProcesses: number },
  ): Promise<RunCgroups> {
    const name = `reckon-sandbox-${process.pid}-${++runCounter}`;
    const dirs = new Map<CgroupController, { dir: string; version: 1 | 2 }>();
    const cgroups = new RunCgroups(dirs);
    try {
      for (const place of places) {
        const dir = join(place.parent, name);
        await mkdir(dir);
        dirs.set(place.controller, { dir, version: place.version });
        if (place.controller === "pids") await writeFile(join(dir, "pids.max"), String(limits.maxProcesses));
        else if (place.version === 1) {
          await writeFile(join(dir, "memory.limit_in_bytes"), String(limits.memoryBytes));
          // Without swap accounting a limited tree could page out instead of being stopped.
          const memsw = join(dir, "memory.memsw.limit_in_bytes");
          if (existsSync(memsw)) await writeFile(memsw, String(limits.memoryBytes));
        } else {
          await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
          const swap = join(dir, "memory.swap.max");
          if (existsSync(swap)) await writeFile(swap, "0");
        }
      }
    } catch (error) {
      await cgroups.remove();
      throw error;
    }
    return cgroups;
  }

  /** The `cgroup.procs` files a process writes its pid to, to join every cgroup of the run. */
  get procsFiles(): string[] {
    return [...this.dirs.values()].map(({ dir }) => join(dir, "cgroup.procs"));
  }

  /** How many times the kernel killed a process of this run for lack of memory. */
  async oomKills(): Promise<number> {
    const memory = this.dirs.get("memory");
    if (!memory) return 0;
    const file = join(memory.dir, memory.version === 1 ? "memory.oom_control" : "memory.events");
    try {
      const match = /^oom_kill (\d+)$/m.exec(await readFile(file, "utf8"));
      return match ? Number(match[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** Pids still in the run's cgroups. */
  async members(): Promise<number[]> {
    const pids = new Set<number>();
    for (const file of this.procsFiles) {
      try {
        for (const line of (await readFile(file, "utf8")).split("\n")) if (line) pids.add(Number(line));
      } catch {}
    }
    return [...pids];
  }

  /** Kills every process left in the run's cgroups and waits until they are gone (at most `waitMs`). */
  async killAll(waitMs = 5_000): Promise<number[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const pids = await this.members();
      if (pids.length === 0 || Date.now() > deadline) return pids;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Removes the run's cgroups; they must be empty. */
  async remove(): Promise<void> {
    for (const { dir } of this.dirs.values()) {
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          // A killed process leaves its cgroup a moment after it is reaped.
          if (code !== "EBUSY" || attempt >= 100) throw error;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }
  }
}
