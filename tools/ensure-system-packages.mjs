#!/usr/bin/env node
// Run by `npm test` first. The tests use programs from Debian that npm cannot install:
// Chromium (/usr/bin/chromium, driven by playwright-core, renders reports and the dashboard),
// bubblewrap (/usr/bin/bwrap, the sandbox that runs generated code), cmake and g++ (which build
// llama.cpp's own server, see build-llama-server.mjs; g++ also the embedded engine's addon, see
// build-engine.mjs). Installs the missing ones with apt-get (as root, or through sudo), and
// otherwise says exactly what to do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const needed = [
  { file: "/usr/bin/chromium", pkg: "chromium", why: "the report and dashboard tests render pages in it" },
  { file: "/usr/bin/bwrap", pkg: "bubblewrap", why: "the sandbox isolates generated programs with it" },
  {
    file: "/usr/bin/cmake",
    pkg: "cmake",
    why: "llama.cpp's server, which the HTTP tests run, is built with it",
  },
  {
    file: "/usr/bin/g++",
    pkg: "g++",
    why: "llama.cpp's server, which the HTTP tests run, and the embedded engine's addon are compiled with it",
  },
];
const missing = needed.filter((n) => !existsSync(n.file));
if (missing.length === 0) process.exit(0);

const say = (text) => process.stderr.write(`ensure-system-packages: ${text}\n`);
const names = missing.map((m) => m.pkg).join(" ");
const fail = (text) => {
  say(text);
  say(`install them by hand (e.g. \`sudo apt-get install ${names}\` on Debian)`);
  process.exit(1);
};
const found = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

for (const m of missing) say(`${m.file} is missing: ${m.why}`);
if (!found("apt-get")) fail("apt-get is not available to install them");
const asRoot = process.getuid?.() === 0;
if (!asRoot && !found("sudo")) fail("installing them needs root (no sudo found)");
// Without a terminal sudo cannot ask for a password: -n makes it fail at once instead of hanging.
const prefix = asRoot ? [] : process.stdin.isTTY ? ["sudo"] : ["sudo", "-n"];

say(`installing Debian's ${names}:`);
for (const args of [
  ["apt-get", "update", "-qq"],
  ["apt-get", "install", "-y", "-qq", ...missing.map((m) => m.pkg)],
]) {
  const command = [...prefix, ...args];
  say(`$ ${command.join(" ")}`);
  const result = spawnSync(command[0], command.slice(1), {
    stdio: ["inherit", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.status !== 0)
    fail(`\`${command.join(" ")}\` failed (exit code ${result.status ?? result.signal})`);
}
for (const m of missing)
  if (!existsSync(m.file)) fail(`the ${m.pkg} package is installed but ${m.file} is still missing`);
say(`installed ${names}`);
