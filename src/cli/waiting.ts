/**
 * A sender whose receiver does not answer would otherwise show a blank screen until the dial or
 * idle timeout: say what it is waiting for after a moment, then what usually causes the silence.
 */
import type { EventSink, XferEvent } from "../core/events.ts";
import type { AnyTransport } from "../plugin/api.ts";

/** When the two "waiting" events come, in ms after the send starts. */
export const WAITING_AFTER_MS = [1500, 6000] as const;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Wraps `emit`: passes every event on, and adds "waiting" events until the peer authenticated. */
export function watchForAnswer(
  transport: AnyTransport,
  to: string,
  emit: EventSink,
  timers: Timers = realTimers,
): { emit: EventSink; stop(): void } {
  let connected = false;
  const handles = WAITING_AFTER_MS.map((ms) =>
    timers.setTimeout(() => {
      const port = to.slice(to.lastIndexOf(":") + 1);
      emit({
        event: "waiting",
        to,
        transport: transport.name,
        seconds: ms / 1000,
        connected,
        // udp-reliable is a stream over UDP: what the firewall must let through is UDP.
        reachableOn: `${transport.capabilities?.udpOnly ? "UDP" : "TCP"} port ${port}`,
      });
    }, ms),
  );
  const stop = () => {
    for (const h of handles) timers.clearTimeout(h);
    handles.length = 0;
  };
  return {
    stop,
    emit(e: XferEvent) {
      if (e.event === "connected") connected = true;
      if (e.event === "authenticated" || e.event === "error" || e.event === "done") stop();
      emit(e);
    },
  };
}
