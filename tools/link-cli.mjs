#!/usr/bin/env node
// Links the package's own `reckon` bin into node_modules/.bin, which npm does only for
// dependencies, so that `node_modules/.bin/reckon` and `npx reckon` work in a clone.
import { chmodSync, mkdirSync, rmSync, symlinkSync } from "node:fs";

const target = "../../dist/cli/main.js";
const link = "node_modules/.bin/reckon";
mkdirSync("node_modules/.bin", { recursive: true });
rmSync(link, { force: true });
symlinkSync(target, link);
chmodSync("dist/cli/main.js", 0o755);
