/** `reckon sandbox` as a user runs it: a real process, JSON out, exit code 2 on bad input. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxResultSchema } from "../../src/sandbox/sandbox.js";
import { reckon } from "../support/cli.js";

const scratch = mkdtempSync(join(tmpdir(), "reckon-sandbox-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("reckon sandbox", () => {
  it("doctor lists every protection and whether it is active", async () => {
    const run = await reckon(["sandbox", "doctor"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^active +separate process tree: pid namespace/m);
    expect(run.stdout).toMatch(/^active +memory limit: memory cgroup/m);
    expect(run.stdout).toContain("All protections are active.");
  });

  it("run prints the result as JSON, a timeout included", async () => {
    const file = join(scratch, "loop.py");
    writeFileSync(file, "print('started', flush=True)\nwhile True:\n    pass\n");
    const run = await reckon([
      "sandbox",
      "run",
      "--lang",
      "python",
      file,
      "--timeout-ms",
      "1000",
      "--memory-mb",
      "64",
    ]);
    expect(run.code).toBe(0);
    const result = sandboxResultSchema.parse(JSON.parse(run.stdout));
    expect(result).toMatchObject({ status: "timeout", reason: "wall-clock limit", stdout: "started\n" });
  });

  it("rejects a bad language, a bad limit and a missing file with exit code 2", async () => {
    const file = join(scratch, "ok.js");
    writeFileSync(file, "console.log(1)");
    const [language, limit, missing] = await Promise.all([
      reckon(["sandbox", "run", "--lang", "ruby", file]),
      reckon(["sandbox", "run", "--lang", "javascript", file, "--timeout-ms", "soon"]),
      reckon(["sandbox", "run", "--lang", "javascript", join(scratch, "absent.js")]),
    ]);
    expect(language).toMatchObject({ code: 2, stdout: "" });
    expect(language.stderr).toContain("invalid flag --lang");
    expect(limit).toMatchObject({ code: 2, stdout: "" });
    expect(limit.stderr).toContain("invalid flag --timeout-ms");
    expect(missing).toMatchObject({ code: 2, stdout: "" });
    expect(missing.stderr).toContain("cannot read");
  });
});
