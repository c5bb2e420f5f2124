/** What is running on this machine, read from /proc: to prove a run left nothing behind. */
import { readdirSync, readFileSync } from "node:fs";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Pids of processes whose command line or cgroup contains `marker`. */
export function processesMatching(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = read(`/proc/${entry}/cmdline`).replaceAll("\0", " ");
    if (cmdline.includes(marker) || read(`/proc/${entry}/cgroup`).includes(marker)) pids.push(Number(entry));
  }
  return pids;
}
