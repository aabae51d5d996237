import { mkdir, realpath } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import { EXIT, toXferError, XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { ReceiveDir } from "../../core/receive-dir.ts";
import type { ReceiveTarget } from "../../core/receive-target.ts";
import { CodeAttempts } from "../../core/secure/attempts.ts";
import { generateCode } from "../../core/secure/code.ts";
import type { OfferEvent } from "../../core/session/receiver.ts";
import { serve, settleTransports } from "../../core/session/run.ts";
import { StdoutTarget } from "../../core/stdout-target.ts";
import type { AnyTransport } from "../../plugin/api.ts";
import { canAsk, confirm } from "../ask.ts";
import { formatBytes, printable } from "../format.ts";
import { parseEndpoint } from "../parse.ts";
import { contextFor, loadTransports } from "../transports.ts";
import {
  type CommonFlags,
  codeOf,
  exitCodeOf,
  idleTimeoutMs,
  pluginPaths,
  reportDone,
  transportOptions,
} from "./common.ts";

export interface RecvFlags extends CommonFlags {
  listen: string;
  via?: string;
  once?: boolean;
  overwrite?: boolean;
  stdout?: boolean;
  allowLoss?: boolean;
  yes?: boolean;
}

export async function recvCommand(
  dir: string | undefined,
  flags: RecvFlags,
  emit: EventSink,
  signal: AbortSignal,
): Promise<number> {
  if (flags.stdout && flags.json)
    throw new XferError("usage", "--stdout and --json both want standard output; pick one");
  if (flags.stdout && dir) throw new XferError("usage", "--stdout writes to standard output; do not give a folder too");
  const at = parseEndpoint(flags.listen);
  const registry = await loadTransports(pluginPaths(flags));
  const transports: AnyTransport[] = [];
  if (flags.via) {
    for (const name of String(flags.via).split(",")) {
      const found = registry.get(name.trim());
      if (!found) throw new XferError("usage", `unknown transport '${name}' (see: xfer transports)`);
      transports.push(found.transport);
    }
  } else {
    transports.push(...registry.list().map((r) => r.transport));
  }
  const target: ReceiveTarget = flags.stdout
    ? new StdoutTarget(process.stdout)
    : new ReceiveDir(await prepareDir(dir ?? "."), { overwrite: Boolean(flags.overwrite) });
  const options = transportOptions(flags);
  const idle = idleTimeoutMs(flags);
  // Stdout carries one file's bytes: a second session would interleave with the first.
  const once = Boolean(flags.once || flags.stdout);
  const given = codeOf(flags);
  const code = given ?? generateCode();
  const attempts = new CodeAttempts(given === null);
  const approve =
    flags.yes || flags.json || !canAsk()
      ? undefined
      : (offer: OfferEvent) =>
          confirm(`Accept ${describeOffer(offer)} into ${flags.stdout ? "standard output" : (dir ?? ".")}?`);
  /** Once every transport listens: the code, and what to type on the other machine. */
  const announce = (port: number) =>
    emit({
      event: "code",
      code,
      generated: given === null,
      command: `xfer send${given === null ? ` --code ${code}` : ""} <files> ${suggestedHost(at.host)}:${port}`,
    });

  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      void server
        .then((s) => s.close())
        .then(() => settleTransports(transports))
        .then(() => resolve(code), reject);
    };
    const server = serve({
      transports,
      at,
      target,
      ctxFor: (t) => contextFor(t, options, emit, Boolean(flags.verbose)),
      emit,
      code,
      attempts,
      approve,
      idleTimeoutMs: idle,
      allowLoss: Boolean(flags.allowLoss),
      onSession: (outcome) => {
        if ("result" in outcome)
          reportDone(emit, outcome.result, target instanceof ReceiveDir ? target.root : undefined);
        else
          emit({
            event: "error",
            code: outcome.error.code,
            message: outcome.error.message,
            exitCode: outcome.error.exitCode,
          });
        if (once) finish("result" in outcome ? exitCodeOf(outcome.result) : outcome.error.exitCode);
        // A generated code is for one transfer: done once it succeeded, or once guessed at too often.
        else if (given === null && "result" in outcome && exitCodeOf(outcome.result) === EXIT.ok) finish(EXIT.ok);
        else if (attempts.burned) {
          emit({
            event: "error",
            code: "auth",
            message: "this code was guessed at too often; start xfer recv again for a new one",
            exitCode: EXIT.auth,
          });
          finish(EXIT.auth);
        }
      },
    });
    server.then((s) => announce(s.listeners[0]?.listener.address.port ?? at.port), reject);
    signal.addEventListener("abort", () => finish(EXIT.interrupted), { once: true });
  });
}

/** Where a sender on another machine can probably reach this one: the first non-loopback address. */
function suggestedHost(listenHost: string): string {
  if (listenHost !== "0.0.0.0" && listenHost !== "::") return listenHost.includes(":") ? `[${listenHost}]` : listenHost;
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (!a.internal && a.family === "IPv4") return a.address;
  return hostname();
}

function describeOffer(offer: OfferEvent): string {
  const size = offer.totalBytes === null ? "of unknown size" : formatBytes(offer.totalBytes);
  const names = offer.names.slice(0, 3).map(printable).join(", ");
  const more = offer.files + offer.dirs > 3 ? ", …" : "";
  return `${offer.files} file(s)${offer.dirs ? ` in ${offer.dirs} folder(s)` : ""}, ${size} (${names}${more}) from ${offer.remote}`;
}

async function prepareDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    return await realpath(dir);
  } catch (err) {
    throw toXferError(err, `cannot use '${dir}' as the destination folder`);
  }
}
