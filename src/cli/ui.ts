import { Command } from "commander";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { defaultDbPath, openStore } from "../store/sqlite.js";
import { parseFlags } from "./flags.js";

const uiFlagsSchema = z.object({
  db: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
});

export function uiCommand(): Command {
  return new Command("ui")
    .description(
      "Browse bench runs in a local dashboard: scaling charts, every problem's candidates and search trees.",
    )
    .option("--db <file>", "SQLite database", defaultDbPath)
    .option("--port <port>", "port to listen on", "8090")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(uiFlagsSchema, rawFlags);
      const store = openStore(flags.db, { create: false, readonly: true });
      // Loaded by this command alone, as `serve` loads its server.
      const [{ serve }, { Hono }, { toHttpError }, { dashboardRoutes }] = await Promise.all([
        import("@hono/node-server"),
        import("hono"),
        import("../server/errors.js"),
        import("../server/ui/routes.js"),
      ]);
      const app = new Hono();
      dashboardRoutes(app, { runs: store });
      app.get("/", (c) => c.redirect("/ui"));
      app.onError((error, c) => {
        const failure = toHttpError(error);
        return c.text(failure.message, failure.status as ContentfulStatusCode);
      });
      await new Promise<void>((resolve, reject) => {
        const server = serve({ fetch: app.fetch, port: flags.port, hostname: flags.host }, (info) => {
          process.stderr.write(`reckon: dashboard of ${flags.db} at http://${flags.host}:${info.port}/ui\n`);
        });
        server.once("error", reject);
        const stop = () => server.close(() => resolve());
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      store.close();
    });
}
