import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests run real models and real servers: give them room, not races.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // A file per core (vitest's default leaves one free: half the machine on 2 cores). Most of a
    // file's time is spent waiting on child processes and servers, not on its own core.
    maxWorkers: availableParallelism(),
    minWorkers: 1,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
