/**
 * Run as a child process by the "exits cleanly" case: load the plugin, use it the way a session
 * does, close everything politely, and return. If a socket or timer leaked, the process stays alive
 * and the parent reports it. Usage: exit-probe.ts <module file> <transport name>
 */
import type { AnyTransport, DatagramConnection, StreamConnection, TransportContext } from "../../plugin/api.ts";
import { importPlugin } from "../loader.ts";
import { Accepted, LOOPBACK } from "./harness.ts";

const [file, name] = process.argv.slice(2);
const exported = await importPlugin(file!);
const transport = exported.map((e) => e.value as AnyTransport).find((t) => t.name === name);
if (!transport) throw new Error(`${file} exports no transport named '${name}'`);
const ctx: TransportContext = { options: { extra: {} }, log: { debug() {}, info() {}, warn() {} }, stats() {} };
const at = { host: LOOPBACK, port: 0 };

if (transport.kind === "stream") {
  const accepted = new Accepted<StreamConnection>();
  const listener = await transport.listen(at, ctx, (c) => accepted.push(c));
  const client = await transport.dial({ ...at, port: listener.address.port }, ctx, new AbortController().signal);
  const server = await accepted.next(5000);
  const drain = async (c: StreamConnection) => {
    for await (const _ of c.readable);
  };
  const done = Promise.all([drain(client), drain(server)]);
  await client.write(new Uint8Array(64 * 1024));
  await server.write(new Uint8Array(64 * 1024));
  await Promise.all([client.end(), server.end()]);
  await done;
  await listener.close();
} else {
  const accepted = new Accepted<DatagramConnection>();
  const listener = await transport.listen(at, ctx, (c) => accepted.push(c));
  const client = await transport.dial({ ...at, port: listener.address.port }, ctx, new AbortController().signal);
  await client.send([new Uint8Array(16)]);
  const server = await accepted.next(2000).catch(() => null);
  client.close();
  server?.close();
  await listener.close();
}
process.stdout.write(`closed ${JSON.stringify(process.getActiveResourcesInfo?.() ?? [])}\n`);
