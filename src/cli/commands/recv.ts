import { randomBytes } from "node:crypto";
import { mkdir, realpath, rm, writeFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { EXIT, toXferError, XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { ReceiveDir } from "../../core/receive/receive-dir.ts";
import type { ReceiveTarget } from "../../core/receive/receive-target.ts";
import { StdoutTarget } from "../../core/receive/stdout-target.ts";
import { answerDiscovery } from "../../core/rendezvous/discovery.ts";
import { roomIfAny } from "../../core/rendezvous/room.ts";
import { CodeAttempts } from "../../core/secure/attempts.ts";
import { generateCode } from "../../core/secure/code.ts";
import type { OfferEvent } from "../../core/session/receiver.ts";
import { type Server, serve, settleTransports } from "../../core/session/run.ts";
import type { AnyTransport } from "../../plugin/api.ts";
import { reachableAddresses } from "../addresses.ts";
import { canAsk, confirm } from "../ask.ts";
import { formatBytes, printable } from "../format.ts";
import { formatEndpoint, parseListen } from "../parse.ts";
import { answersDiscovery, type RelayFlags, relayMeeting, relayOf, relayPasswordOf, relayPlan } from "../rendezvous.ts";
import { checkTransportOptions, rateProblem } from "../transport-options.ts";
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

export interface RecvFlags extends CommonFlags, RelayFlags {
  listen: string;
  via?: string;
  once?: boolean;
  overwrite?: boolean;
  stdout?: boolean;
  allowLoss?: boolean;
  yes?: boolean;
  /** Days after which a part nobody came back to is removed at start; 0: never. */
  pruneParts?: number | string;
}

/** Default for --prune-parts: a week is long enough to come back to an interrupted transfer. */
export const PRUNE_PARTS_DAYS = 7;

export async function recvCommand(
  dir: string | undefined,
  flags: RecvFlags,
  emit: EventSink,
  signal: AbortSignal,
): Promise<number> {
  if (flags.stdout && dir) throw new XferError("usage", "--stdout writes to standard output; do not give a folder too");
  // As curl does: binary data onto a terminal is a mistake, not a request.
  if (flags.stdout && process.stdout.isTTY)
    throw new XferError("usage", "--stdout would write the file onto this terminal: redirect it (> file, | command)");
  const relay = relayOf(flags);
  const at = relay ?? parseListen(flags.listen);
  const registry = await loadTransports(pluginPaths(flags));
  const transports: AnyTransport[] = [];
  const plan = relay
    ? relayPlan(flags.via === undefined ? undefined : String(flags.via), (name) => registry.get(name)?.transport)
    : null;
  if (plan) {
    transports.push(plan.base);
    if (plan.udp) transports.push(plan.udp);
  } else if (flags.via) {
    for (const name of String(flags.via).split(",")) {
      const found = registry.get(name.trim());
      if (!found) throw new XferError("usage", `unknown transport '${name}' (see: xfer transports)`);
      transports.push(found.transport);
    }
  } else {
    transports.push(...registry.list().map((r) => r.transport));
  }
  const options = transportOptions(flags);
  checkTransportOptions(transports, options);
  const rate = rateProblem(transports, options);
  if (rate && transports.every((t) => !t.capabilities?.rateLimit)) throw new XferError("usage", rate);
  if (rate) emit({ event: "warning", message: rate });
  const into = flags.stdout ? "standard output" : await prepareDir(dir ?? ".");
  const days = pruneDays(flags.pruneParts);
  let target: ReceiveTarget;
  if (flags.stdout) target = new StdoutTarget(process.stdout);
  else {
    const dir = new ReceiveDir(into, { overwrite: Boolean(flags.overwrite) });
    if (days > 0) {
      const removed = dir.removeAbandoned(days * 86_400_000);
      if (removed.files > 0)
        emit({
          event: "warning",
          message: `removed ${removed.files} abandoned part(s) (${formatBytes(removed.bytes)}) untouched for more than ${days} day(s) (--prune-parts 0 keeps them)`,
        });
    }
    target = dir;
  }
  const idle = idleTimeoutMs(flags);
  // Stdout carries one file's bytes: a second session would interleave with the first. A relay's room
  // pairs two peers once.
  const once = Boolean(flags.once || flags.stdout || relay);
  const given = codeOf(flags);
  let code = given ?? generateCode();
  /** A room that fails after the join (expired, relay gone) ends the command: set once it runs. */
  let relayFailed: (err: unknown) => void = () => {};
  const met = relay
    ? relayMeeting({
        relay,
        plan: plan!,
        side: "recv",
        code,
        regenerate: given === null ? generateCode : undefined,
        password: relayPasswordOf(flags),
        emit,
        relayOnly: Boolean(flags.relayOnly),
        onFailed: (err) => relayFailed(err),
      })
    : null;
  const served: AnyTransport[] = met ? [met.transport] : transports;
  if (met) code = await met.join(contextFor(transports[0]!, options, emit, Boolean(flags.verbose)), signal);
  const attempts = new CodeAttempts(given === null);
  const approve =
    flags.yes || flags.json || !canAsk()
      ? undefined
      : (offer: OfferEvent) =>
          confirm(`Accept ${describeOffer(offer)} into ${flags.stdout ? "standard output" : (dir ?? ".")}?`);
  /** Once every transport listens: the code, and what to type on the other machine. */
  let discovery: { close(): void } | null = null;
  const announce = async (s: Server) => {
    if (relay) return; // the rendezvous event said it
    const port = s.listeners[0]?.listener.address.port ?? at.port;
    const addresses = reachableAddresses(at.host, networkInterfaces());
    emit({
      event: "code",
      code,
      generated: given === null,
      command: `xfer send${given === null ? ` --code ${code}` : ""} <files> ${formatEndpoint({ host: addresses[0] ?? hostname(), port })}${s.listeners.some((l) => l.transport.name === "tcp-stream") ? "" : ` --via ${s.listeners[0]?.transport.name}`}`,
      port,
      addresses,
      transports: s.listeners.map((l) => l.transport.name),
      into,
    });
    // A sender with no address finds this receiver by its code's number (best effort: another
    // program on the discovery port, or a code without a number, only means no answers).
    const room = roomIfAny(code);
    if (room !== null && answersDiscovery() && s.listeners.some((l) => l.transport.name === "tcp-stream"))
      discovery = await answerDiscovery({ room, port }).catch(() => null);
  };

  return new Promise<number>((resolve, reject) => {
    let finished = false;
    /** `last`: the final session's report, given after the transports settled so their stats come first. */
    const finish = (code: number, last?: () => void) => {
      if (finished) return;
      finished = true;
      discovery?.close();
      void server
        .then((s) => s.close())
        .then(() => settleTransports(transports))
        .then(() => {
          last?.();
          resolve(code);
        }, reject);
    };
    relayFailed = (err) => {
      const e = toXferError(err);
      emit({ event: "error", code: e.code, message: e.message, exitCode: e.exitCode });
      finish(e.exitCode);
    };
    const server = serve({
      transports: served,
      afterAuth: met?.afterAuth,
      at,
      target,
      ctxFor: (t) => contextFor(t, options, emit, Boolean(flags.verbose)),
      emit,
      code,
      attempts,
      approve,
      idleTimeoutMs: idle,
      allowLoss: Boolean(flags.allowLoss),
      // Transports the user named must all listen; of "every loaded one", those that can.
      bestEffort: !flags.via,
      onSession: (outcome) => {
        // A dead session replaced by a new one for the same files: the new one is what counts.
        if ("error" in outcome && outcome.error.code === "taken-over")
          return emit({ event: "warning", message: outcome.error.message });
        const report = () =>
          "result" in outcome
            ? reportDone(emit, outcome.result, into)
            : emit({
                event: "error",
                code: outcome.error.code,
                message: outcome.error.message,
                exitCode: outcome.error.exitCode,
              });
        if (once) finish("result" in outcome ? exitCodeOf(outcome.result) : outcome.error.exitCode, report);
        // A generated code is for one transfer: done once it succeeded, or once guessed at too often.
        else if (given === null && "result" in outcome && exitCodeOf(outcome.result) === EXIT.ok)
          finish(EXIT.ok, report);
        else {
          report();
          if (attempts.burned) {
            emit({
              event: "error",
              code: "auth",
              message: "this code was guessed at too often; start xfer recv again for a new one",
              exitCode: EXIT.auth,
            });
            finish(EXIT.auth);
          }
        }
      },
    });
    server.then(announce, reject);
    signal.addEventListener("abort", () => finish(EXIT.interrupted), { once: true });
  });
}

function pruneDays(value: number | string | undefined): number {
  const days = Number(value ?? PRUNE_PARTS_DAYS);
  if (!Number.isFinite(days) || days < 0)
    throw new XferError("usage", `--prune-parts takes a number of days (0: never), not '${value}'`);
  return days;
}

function describeOffer(offer: OfferEvent): string {
  const size = offer.totalBytes === null ? "of unknown size" : formatBytes(offer.totalBytes);
  const names = offer.names.slice(0, 3).map(printable).join(", ");
  const more = offer.files + offer.dirs > 3 ? ", …" : "";
  return `${offer.files} file(s)${offer.dirs ? ` in ${offer.dirs} folder(s)` : ""}, ${size} (${names}${more}) from ${offer.remote}`;
}

/** The folder must exist (it is made) and take a new file now, not at the first file of a session. */
async function prepareDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    const path = await realpath(dir);
    const probe = join(path, `.xfer-write-check-${randomBytes(6).toString("hex")}`);
    await writeFile(probe, "", { flag: "wx" });
    await rm(probe, { force: true });
    return path;
  } catch (err) {
    const e = toXferError(err, `cannot save into '${dir}'`);
    // Whatever the cause, the folder is this machine's problem: a local I/O error (exit 6).
    throw e.code === "io" || e.code === "disk-full" ? e : new XferError("io", e.message, { cause: err });
  }
}
