/**
 * The real contract: a whole xfer session (hello, offer, files, hashes, verdicts) through the
 * plugin, with the core's own sendSession() and serve(), as `xfer send` and `xfer recv` run them.
 */
import { Buffer } from "node:buffer";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { XferError } from "../../core/errors.ts";
import { buildManifest } from "../../core/manifest.ts";
import { ReceiveDir } from "../../core/receive/receive-dir.ts";
import { CodeAttempts } from "../../core/secure/attempts.ts";
import type { SessionResult } from "../../core/session/result.ts";
import { sendSession, serve } from "../../core/session/run.ts";
import type { AnyTransport, TransportKind } from "../../plugin/api.ts";
import { expected, MiB } from "./bytes.ts";
import { expect, LOOPBACK, within } from "./harness.ts";
import type { ConformanceCase } from "./types.ts";

/**
 * A datagram session sends everything once, unpaced by a plain plugin: its "big" file stays small
 * enough (64 KiB) that loopback does not drop any of it, so every byte can be checked.
 */
const filesFor = (kind: TransportKind): Record<string, Uint8Array> => ({
  "tree/small.txt": new TextEncoder().encode("hello through a plugin\n"),
  "tree/empty": new Uint8Array(0),
  "tree/sub/big.bin": expected(7, 0, kind === "stream" ? MiB : 64 * 1024).slice(),
});

const CODE = "7-conformance-kit-secret-code";

/** One session through the plugin: the receiver's code is CODE, the sender's `senderCode`. */
async function sessionThrough<K extends TransportKind>(
  scope: Parameters<ConformanceCase<K>["run"]>[0],
  env: Parameters<ConformanceCase<K>["run"]>[1],
  senderCode: string,
) {
  const transport = scope.transport as AnyTransport;
  const FILES = filesFor(transport.kind);
  const src = await mkdtemp(join(tmpdir(), "xfer-conformance-src-"));
  const dst = await mkdtemp(join(tmpdir(), "xfer-conformance-dst-"));
  scope.defer(() =>
    Promise.all([rm(src, { recursive: true, force: true }), rm(dst, { recursive: true, force: true })]),
  );
  for (const [name, bytes] of Object.entries(FILES)) {
    await mkdir(join(src, name, ".."), { recursive: true });
    await writeFile(join(src, name), bytes);
  }
  let received!: (outcome: { result: SessionResult } | { error: XferError }) => void;
  const receiverDone = new Promise<{ result: SessionResult } | { error: XferError }>((r) => (received = r));
  const server = await within(
    env.stepMs,
    "serve() through the plugin",
    serve({
      transports: [transport],
      at: { host: LOOPBACK, port: 0 },
      target: new ReceiveDir(dst, { overwrite: false }),
      ctxFor: () => scope.ctx,
      emit: () => {},
      idleTimeoutMs: 10_000,
      onSession: received,
      code: CODE,
      attempts: new CodeAttempts(false),
    }),
  );
  scope.defer(() => server.close());
  const port = server.listeners[0]!.listener.address.port;
  const entries = await buildManifest([join(src, "tree")], {
    followSymlinks: false,
    stdinName: "stdin",
    onSkip: () => {},
  });
  const sent = await sendSession({
    transport,
    to: { host: LOOPBACK, port },
    entries,
    ctx: scope.ctx,
    emit: () => {},
    stdin: (async function* () {})(),
    signal: scope.controller.signal,
    idleTimeoutMs: 10_000,
    code: senderCode,
  }).catch((err: unknown) => err as XferError);
  const outcome = await within(env.stepMs, "the receiver's end of the session", receiverDone);
  return { sent, outcome, dst, files: FILES };
}

/** The whole session through a plugin of either kind (stream frames, or the datagram session). */
export const sessionCase = <K extends TransportKind>(): ConformanceCase<K> => ({
  id: "session.files",
  title: "a full xfer session (code, handshake, folder with 3 files) through the core's sender and receiver",
  timeoutMs: 30_000,
  async run(scope, env) {
    const { sent, outcome, dst, files } = await sessionThrough<K>(scope, env, CODE);
    if (sent instanceof Error) throw new Error(`the sender failed: ${sent.message}`);
    if ("error" in outcome) throw new Error(`the receiver failed: ${outcome.error.message}`);
    expect(sent.failures.length === 0, `the sender saw failures: ${JSON.stringify(sent.failures)}`);
    expect(
      sent.files === 3 && outcome.result.files === 3,
      `3 files expected, sender ${sent.files}, receiver ${outcome.result.files}`,
    );
    expect(sent.hash === outcome.result.hash, "sender and receiver disagree on the session hash");
    for (const [name, bytes] of Object.entries(files))
      expect(Buffer.compare(await readFile(join(dst, name)), bytes) === 0, `${name} arrived with different bytes`);
    return undefined;
  },
});

export const wrongCodeCase = <K extends TransportKind>(): ConformanceCase<K> => ({
  id: "session.wrong-code",
  title: "a sender with the wrong code fails on both sides with an authentication error, nothing written",
  timeoutMs: 30_000,
  async run(scope, env) {
    const { sent, outcome, dst } = await sessionThrough<K>(scope, env, "7-not-the-right-code");
    expect(
      sent instanceof Error && (sent as XferError).code === "auth",
      `sender: expected auth error, got ${String(sent)}`,
    );
    expect("error" in outcome && outcome.error.code === "auth", "receiver: expected an auth error");
    const written = await readdir(dst);
    expect(written.length === 0, `the receiver wrote ${written.join(", ")}`);
    return undefined;
  },
});
