#!/usr/bin/env node
// Run by `npm test` first: the report tests render the HTML report in Debian's Chromium
// (/usr/bin/chromium, driven by playwright-core). Installs the `chromium` package with apt-get
// when it is missing (as root, or through sudo), and otherwise says exactly what to do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = "/usr/bin/chromium";
if (existsSync(chromium)) process.exit(0);

const say = (text) => process.stderr.write(`ensure-chromium: ${text}\n`);
const fail = (text) => {
  say(text);
  say(`install it by hand (e.g. \`sudo apt-get install chromium\` on Debian) so that ${chromium} exists`);
  process.exit(1);
};
const found = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

if (!found("apt-get")) fail(`${chromium} is missing and apt-get is not available to install it`);
const asRoot = process.getuid?.() === 0;
if (!asRoot && !found("sudo")) fail(`${chromium} is missing, and installing it needs root (no sudo found)`);
// Without a terminal sudo cannot ask for a password: -n makes it fail at once instead of hanging.
const prefix = asRoot ? [] : process.stdin.isTTY ? ["sudo"] : ["sudo", "-n"];

say(`${chromium} is missing; the report tests need it. Installing Debian's chromium package:`);
for (const args of [
  ["apt-get", "update", "-qq"],
  ["apt-get", "install", "-y", "-qq", "chromium"],
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
if (!existsSync(chromium)) fail(`the chromium package is installed but ${chromium} is still missing`);
say(`installed ${chromium}`);
