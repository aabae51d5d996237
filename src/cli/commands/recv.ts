import { mkdir, realpath } from "node:fs/promises";
import { EXIT, toXferError, XferError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import { ReceiveDir } from "../../core/receive-dir.ts";
import type { ReceiveTarget } from "../../core/receive-target.ts";
import { serve, settleTransports } from "../../core/session/run.ts";
import { StdoutTarget } from "../../core/stdout-target.ts";
import type { AnyTransport } from "../../plugin/api.ts";
import { parseEndpoint } from "../parse.ts";
import { contextFor, loadTransports } from "../transports.ts";
import { type CommonFlags, exitCodeOf, idleTimeoutMs, pluginPaths, reportDone, transportOptions } from "./common.ts";

export interface RecvFlags extends CommonFlags {
  listen: string;
  via?: string;
  once?: boolean;
  overwrite?: boolean;
  stdout?: boolean;
  allowLoss?: boolean;
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
      idleTimeoutMs: idle,
      allowLoss: Boolean(flags.allowLoss),
      onSession: (outcome) => {
        if ("result" in outcome) reportDone(emit, outcome.result);
        else
          emit({
            event: "error",
            code: outcome.error.code,
            message: outcome.error.message,
            exitCode: outcome.error.exitCode,
          });
        if (once) finish("result" in outcome ? exitCodeOf(outcome.result) : outcome.error.exitCode);
      },
    });
    server.catch(reject);
    signal.addEventListener("abort", () => finish(EXIT.interrupted), { once: true });
  });
}

async function prepareDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    return await realpath(dir);
  } catch (err) {
    throw toXferError(err, `cannot use '${dir}' as the destination folder`);
  }
}
