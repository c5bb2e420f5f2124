/** A reckon server on a loopback port, in front of given upstreams or a given model source. */
import { createReckonServer, type ReckonServer, type ReckonServerParts } from "../../src/server/app.js";
import { parseServerConfig, type ServerConfigInput } from "../../src/server/config.js";

export interface RunningProxy {
  url: string;
  server: ReckonServer;
  close(): Promise<void>;
}

export async function startProxy(
  config: ServerConfigInput,
  parts: ReckonServerParts = {},
): Promise<RunningProxy> {
  const server = createReckonServer(parseServerConfig({ port: 0, host: "127.0.0.1", ...config }), parts);
  const url = await server.listen();
  return { url, server, close: () => server.close() };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response fields
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}
