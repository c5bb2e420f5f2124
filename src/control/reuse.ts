/**
 * The probe's draws, served again to the strategy a policy chooses after it. Within one run a
 * request's samples are numbered in the order they are asked for (src/core/draws.ts), so the
 * chosen strategy would otherwise continue after the probe's samples and draw all of its own:
 * a probe of 4 then self-consistency at 16 would pay for 20 samples. Here the chosen strategy
 * sees the samples it would see run alone (indices 0, 1, ... of each request), the first ones
 * from the probe's record and only the rest drawn (at their own indices): 12 more, not 16.
 */
import {
  type BackendMiddleware,
  forwardBackend,
  type GenerateRequest,
  reportWholeSample,
} from "../core/backend.js";
import { requestDigest } from "../core/draws.js";
import { type Completion, emptyUsage } from "../core/types.js";

export interface DrawReuse {
  /** Around the probe's backend: remembers what each request drew, in order. */
  record: BackendMiddleware;
  /** Around the chosen strategy's backend: serves remembered samples, draws only the rest. */
  replay: BackendMiddleware;
  /** Samples the chosen strategy was served from the probe, and drew itself. */
  counts(): { reused: number; drawn: number };
}

export function drawReuse(): DrawReuse {
  const recorded = new Map<string, Completion[]>();
  const asked = new Map<string, number>();
  let reused = 0;
  let drawn = 0;
  const record: BackendMiddleware = (next) =>
    forwardBackend(next, {
      async generate(request) {
        const response = await next.generate(request);
        // A request with its own offset is not numbered from the start: nothing to line up.
        if (request.sampleOffset === undefined) {
          const digest = requestDigest(request);
          recorded.set(digest, [...(recorded.get(digest) ?? []), ...response.completions]);
        }
        return response;
      },
    });
  const replay: BackendMiddleware = (next) =>
    forwardBackend(next, {
      async generate(request) {
        if (request.sampleOffset !== undefined) return next.generate(request);
        const digest = requestDigest(request);
        const from = asked.get(digest) ?? 0;
        const to = from + request.n;
        asked.set(digest, to);
        const known = recorded.get(digest) ?? [];
        const served = known.slice(from, Math.min(to, known.length));
        served.forEach((completion, i) => {
          reportWholeSample(request, completion, i);
        });
        reused += served.length;
        const rest = request.n - served.length;
        if (rest === 0) return { completions: served, usage: emptyUsage() };
        const shift = served.length;
        const fresh = await next.generate({
          ...request,
          n: rest,
          sampleOffset: from + shift,
          ...(request.onSample
            ? {
                onSample: (completion: Completion, index: number) =>
                  request.onSample!(completion, index + shift),
              }
            : {}),
          ...(request.onToken
            ? { onToken: (event) => request.onToken!({ ...event, index: event.index + shift }) }
            : {}),
        } satisfies GenerateRequest);
        drawn += fresh.completions.length;
        return { completions: [...served, ...fresh.completions], usage: fresh.usage };
      },
    });
  return { record, replay, counts: () => ({ reused, drawn }) };
}
