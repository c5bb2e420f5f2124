#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages that the registry this
// lockfile was resolved against does not serve (other operating systems and CPUs). Without
// them `npm ci` refuses the lockfile as out of sync; with them it skips those packages on
// platforms they do not fit, as it does for a lockfile made against the full registry.
// Run after `npm install` changes dependencies: node tools/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));

const osOf = [
  [/android/, "android"],
  [/darwin|mac-/, "darwin"],
  [/freebsd/, "freebsd"],
  [/openbsd/, "openbsd"],
  [/openharmony/, "openharmony"],
  [/win32|win-/, "win32"],
  [/linux/, "linux"],
];
const cpuOf = ["arm64", "x64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "arm"];

function platformOf(name) {
  const os = osOf.find(([pattern]) => pattern.test(name))?.[1];
  const cpu = cpuOf.find((c) => new RegExp(`[-/]${c}([-]|$)`).test(name));
  if (!os || !cpu) return undefined;
  return { os: [os], cpu: [cpu], ...(name.includes("musl") ? { libc: ["musl"] } : {}) };
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const platform = platformOf(name);
    if (!platform) continue;
    lock.packages[key] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform entries`);
