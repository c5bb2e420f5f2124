/**
 * Server-sent events: `data: {chunk}` lines ending with `data: [DONE]` (OpenAI's Chat
 * Completions), or named events (`event: NAME` and its `data:` line, as the Responses and
 * Messages APIs stream). Progress goes out as SSE comments (`: reckon {...}`), which OpenAI clients
 * skip and reckon-aware clients read; a keep-alive comment keeps idle proxies from closing
 * the connection while a strategy works.
 */
import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";

const encoder = new TextEncoder();
/** How often an idle stream gets a keep-alive comment. */
const keepAliveMs = 10_000;

export const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  // nginx would otherwise buffer the stream and deliver it all at the end.
  "x-accel-buffering": "no",
};

export class SseStream {
  /** What the route answers with. */
  readonly response: Response;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly sink: { write(text: string): void; end(): void };

  /**
   * `onCancel` runs when the client stops reading (it disconnected). Given the Node response
   * (`outgoing`), events are written to it directly and the adapter is told the response is
   * sent: a web stream would cost a read, a promise and a copy for every event (about a seventh
   * of what a streamed token costs the proxy). Elsewhere (`app.fetch`), the body is a web stream.
   */
  constructor(onCancel: () => void, outgoing?: ServerResponse) {
    const cancel = () => {
      if (this.closed) return;
      this.stop();
      onCancel();
    };
    if (outgoing) {
      outgoing.on("close", () => {
        if (!outgoing.writableFinished) cancel();
      });
      // Headers go with the first event: a stream closed before any (its request failed as it
      // opened) leaves the response to the error's answer.
      this.sink = {
        write: (text) => {
          if (!outgoing.headersSent) outgoing.writeHead(200, sseHeaders);
          outgoing.write(text);
        },
        end: () => {
          if (outgoing.headersSent) outgoing.end();
        },
      };
      this.response = RESPONSE_ALREADY_SENT;
    } else {
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start: (c) => {
          controller = c;
        },
        cancel,
      });
      this.sink = {
        write: (text) => controller.enqueue(encoder.encode(text)),
        end: () => controller.close(),
      };
      this.response = new Response(stream, { status: 200, headers: sseHeaders });
    }
    this.heartbeat = setInterval(() => this.comment("keep-alive"), keepAliveMs);
    this.heartbeat.unref();
  }

  get open(): boolean {
    return !this.closed;
  }

  data(value: unknown): void {
    this.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** A named event: `event: NAME` and one `data:` line. */
  event(name: string, value: unknown): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(value)}\n\n`);
  }

  /** A comment line: ignored by SSE parsers that follow the spec. */
  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
  }

  /** `data: [DONE]`, then the end of the stream. */
  done(): void {
    this.write("data: [DONE]\n\n");
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.sink.end();
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
  }

  private write(text: string): void {
    if (!this.closed) this.sink.write(text);
  }
}
