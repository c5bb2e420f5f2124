/** Recent requests, newest first, for the dashboard's live view; a fixed-size ring in memory. */
export interface LiveRequest {
  id: string;
  startedAt: string;
  endpoint: string;
  model: string;
  strategy: string;
  caller: string;
  stream: boolean;
  /** HTTP status; undefined while in flight. */
  status?: number;
  stopReason?: string;
  answer?: string | null;
  promptTokens?: number;
  completionTokens?: number;
  verifierTokens?: number;
  calls?: number;
  latencyMs?: number;
  error?: string;
}

export class LiveRequests {
  private readonly entries: LiveRequest[] = [];

  constructor(private readonly capacity: number) {}

  start(entry: LiveRequest): LiveRequest {
    if (this.capacity === 0) return entry;
    this.entries.unshift(entry);
    if (this.entries.length > this.capacity) this.entries.pop();
    return entry;
  }

  recent(): LiveRequest[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
