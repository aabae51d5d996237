/** Run the real CLI as child processes and read its NDJSON events. */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const ROOT = resolve(import.meta.dir, "../..");
export const CLI_ENTRY = join(ROOT, "src/cli.ts");

/** Both sides of every test session know this code, through XFER_CODE (a test may override it). */
export const TEST_CODE = "7-test-code-for-every-case";

export type Event = Record<string, unknown> & { event: string };

export interface Running {
  proc: ChildProcess;
  events: Event[];
  stderr: () => string;
  /** Resolves with the exit code (or 128+signal). */
  exited: Promise<number>;
  /** Resolves with the first event matching `pred`. */
  waitFor(pred: (e: Event) => boolean, timeoutMs?: number): Promise<Event>;
}

/**
 * Deno from the npm devDependency: `deno run -A --unstable-net src/cli.ts` is the same CLI on the other
 * runtime (`--unstable-net` brings Deno.listenDatagram, its fast UDP adapter).
 */
export const DENO = [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-net"];

export function run(
  args: string[],
  opts: {
    cwd?: string;
    stdin?: "pipe" | "ignore";
    rawStdout?: boolean;
    env?: Record<string, string>;
    /** Command that runs a .ts file (default: this Bun), e.g. DENO. */
    runtime?: string[];
  } = {},
): Running {
  const [command, ...prefix] = opts.runtime ?? [process.execPath];
  const proc = spawn(command as string, [...prefix, CLI_ENTRY, ...args], {
    cwd: opts.cwd ?? ROOT,
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
    // No LAN discovery broadcasts from tests onto the machine's real network (a test that wants them
    // names its targets, or clears this inside its own namespaces).
    env: { ...process.env, NO_COLOR: "1", XFER_CODE: TEST_CODE, XFER_DISCOVERY: "off", ...opts.env },
  });
  const events: Event[] = [];
  const listeners = new Set<() => void>();
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  if (!opts.rawStdout) {
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      try {
        events.push(JSON.parse(line) as Event);
      } catch {
        err += `[non-JSON stdout] ${line}\n`;
      }
      for (const l of listeners) l();
    });
  }
  const exited = new Promise<number>((res) => {
    proc.on("exit", (code, signal) => res(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
  return {
    proc,
    events,
    stderr: () => err,
    exited,
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise<Event>((res, rej) => {
        const check = () => {
          const found = events.find(pred);
          if (found) {
            listeners.delete(check);
            clearTimeout(timer);
            res(found);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          rej(new Error(`timed out waiting for event; got ${JSON.stringify(events)}; stderr: ${err}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then(() => setTimeout(check, 50));
        check();
      });
    },
  };
}

/** A receiver on 127.0.0.1 with a free port; resolves once it listens. */
export async function startReceiver(dir: string, extra: string[] = [], opts: Parameters<typeof run>[1] = {}) {
  const r = run(["recv", dir, "--listen", "127.0.0.1:0", "--json", ...extra], opts);
  const listening = await r.waitFor((e) => e.event === "listening");
  return { ...r, port: listening.port as number };
}

export async function sendAndWait(args: string[], opts: Parameters<typeof run>[1] = {}) {
  const r = run(["send", "--json", ...args], opts);
  const code = await r.exited;
  return { code, events: r.events, stderr: r.stderr() };
}

export async function tempDir(prefix = "xfer-e2e-"): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** A loopback UDP port nobody listens on (bound, read, released): for "nothing listening" cases. */
export async function closedUdpPort(): Promise<number> {
  const probe = createSocket("udp4");
  await new Promise<void>((res) => probe.bind(0, "127.0.0.1", res));
  const port = probe.address().port;
  probe.close();
  return port;
}
