/**
 * A loopback HTTP server standing in for the datasets' public homes: it serves each registry
 * file, built from the development copies in `../shared/datasets`, at `/<host><path>` of its
 * home URL (the layout `RECKON_DATASETS_MIRROR` expects), and records every request.
 *
 *   const mirror = await startDatasetMirror();
 *   process.env.RECKON_DATASETS_MIRROR = mirror.url;
 *   mirror.requests;                       // paths asked for, in order
 *   mirror.serve(path, bytes | "cut");     // other bytes at a path, or a body cut off halfway
 *   await mirror.close();                  // afterwards the port refuses connections
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type DatasetHome, datasetHomes, datasetNames } from "../../src/bench/dataset-registry.js";
import { repoRoot } from "./cli.js";

export const sharedDatasets = join(repoRoot, "..", "shared", "datasets");

/** The path a home's file has on the mirror. */
export function mirrorPath(home: DatasetHome): string {
  const url = new URL(home.url);
  return `/${url.host}${url.pathname}`;
}

export interface DatasetMirror {
  url: string;
  requests: string[];
  serve(path: string, content: Buffer | "cut"): void;
  close(): Promise<void>;
}

export async function startDatasetMirror(): Promise<DatasetMirror> {
  const routes = new Map<string, Buffer | "cut">();
  for (const name of datasetNames)
    routes.set(mirrorPath(datasetHomes[name]), readFileSync(join(sharedDatasets, datasetHomes[name].file)));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    requests.push(path);
    const content = routes.get(path);
    if (content === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    } else if (content === "cut") {
      // Promise a whole file, send a part, then drop the connection.
      res.writeHead(200, { "content-length": "100000" });
      res.write(Buffer.alloc(5000, 0x7b), () => res.destroy());
    } else {
      res.writeHead(200, { "content-length": String(content.length) }).end(content);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    serve: (path, content) => routes.set(path, content),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
