/**
 * A sender whose receiver does not answer would otherwise show a blank screen until the dial or
 * idle timeout: say what it is waiting for after a moment, then what usually causes the silence.
 */
import type { EventSink, XferEvent } from "../core/events.ts";
import type { AnyTransport } from "../plugin/api.ts";

/** When the "waiting" events come, in ms: after the send starts, and after the peer authenticated. */
export const WAITING_AFTER_MS = [1500, 6000] as const;
export const WAITING_FOR_ACCEPT_MS = 1500;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

type Stage = Extract<XferEvent, { event: "waiting" }>["stage"];

/** Wraps `emit`: passes every event on, and adds "waiting" events until the first file starts. */
export function watchForAnswer(
  transport: AnyTransport,
  to: string,
  emit: EventSink,
  timers: Timers = realTimers,
): { emit: EventSink; stop(): void } {
  let stage: Stage = "dialing";
  const started = Date.now();
  const handles: unknown[] = [];
  const port = to.slice(to.lastIndexOf(":") + 1);
  const schedule = (ms: number) =>
    handles.push(
      timers.setTimeout(
        () =>
          emit({
            event: "waiting",
            to,
            transport: transport.name,
            seconds: Math.round((Date.now() - started) / 100) / 10,
            stage,
            // udp-reliable is a stream over UDP: what the firewall must let through is UDP.
            reachableOn: `${transport.capabilities?.udpOnly ? "UDP" : "TCP"} port ${port}`,
          }),
        ms,
      ),
    );
  const stop = () => {
    for (const h of handles) timers.clearTimeout(h);
    handles.length = 0;
  };
  for (const ms of WAITING_AFTER_MS) schedule(ms);
  return {
    stop,
    emit(e: XferEvent) {
      if (e.event === "connected" && stage === "dialing") stage = "handshake";
      if (e.event === "authenticated") {
        // Now the receiver may be asking its user whether to accept: say so if it takes a while.
        stop();
        stage = "offer";
        schedule(WAITING_FOR_ACCEPT_MS);
      }
      if (e.event === "file-start" || e.event === "error" || e.event === "done") stop();
      emit(e);
    },
  };
}
