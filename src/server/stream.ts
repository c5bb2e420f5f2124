/**
 * Server-sent events: `data: {chunk}` lines ending with `data: [DONE]` (OpenAI's Chat
 * Completions), or named events (`event: NAME` and its `data:` line, as the Responses and
 * Messages APIs stream). Progress goes out as SSE comments (`: reckon {...}`), which OpenAI clients
 * skip and reckon-aware clients read; a keep-alive comment keeps idle proxies from closing
 * the connection while a strategy works.
 */
const encoder = new TextEncoder();

export const sseHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  // nginx would otherwise buffer the stream and deliver it all at the end.
  "x-accel-buffering": "no",
};

export class SseStream {
  readonly response: Response;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  /** `onCancel` runs when the client stops reading (it disconnected). */
  constructor(onCancel: () => void, keepAliveMs = 10_000, headers: Record<string, string> = {}) {
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.stop();
        onCancel();
      },
    });
    this.response = new Response(stream, { status: 200, headers: { ...sseHeaders, ...headers } });
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
    this.controller.close();
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
  }

  private write(text: string): void {
    if (!this.closed) this.controller.enqueue(encoder.encode(text));
  }
}
