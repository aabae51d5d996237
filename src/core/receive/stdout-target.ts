/** `recv --stdout`: the single offered file goes to standard output instead of a directory. */
import type { Writable } from "node:stream";
import { XferError } from "../errors.ts";
import { newHasher, type StreamingHasher } from "../hashing.ts";
import type { ManifestEntry } from "../protocol/messages.ts";
import type { Commit } from "./publish-batch.ts";
import { type FileSink, PreparedFiles, type PrepareOptions, type ReceiveTarget } from "./receive-target.ts";

export class StdoutTarget implements ReceiveTarget {
  /** Standard output takes one session's bytes, ever: a second peer must not mix its own in. */
  private taken = false;

  constructor(private readonly out: Writable) {}

  async prepare(entries: readonly ManifestEntry[], options?: PrepareOptions): Promise<PreparedFiles> {
    const first = options?.first ?? 0;
    if (first !== 0 || entries.length !== 1 || entries[0]?.kind !== "file")
      throw new XferError(
        "rejected",
        `receiver writes to standard output and takes one file; offer has ${first + entries.length} entries`,
      );
    if (this.taken) throw new XferError("busy", "standard output is taken by another session");
    this.taken = true;
    const prepared = new PreparedFiles(1);
    prepared.setFresh(0);
    return prepared;
  }

  async makeDir(): Promise<boolean> {
    return false;
  }
  async finishDirs(): Promise<void> {}

  async openFile(entry: ManifestEntry, offset: number): Promise<FileSink> {
    if (offset !== 0) throw new XferError("protocol", "standard output cannot resume");
    return new StdoutSink(this.out, entry, await newHasher());
  }
}

class StdoutSink implements FileSink {
  private position = 0;
  constructor(
    private readonly out: Writable,
    private readonly entry: ManifestEntry,
    private readonly hasher: StreamingHasher,
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    // Never more than was offered reaches the output: the excess is refused before it is written.
    if (this.entry.size !== null && this.position + bytes.byteLength > this.entry.size)
      throw new XferError(
        "integrity",
        `'${this.entry.path}': the sender sent more than the ${this.entry.size} bytes it offered; output stopped there`,
      );
    this.hasher.update(bytes);
    this.position += bytes.byteLength;
    // Copy: the transport may reuse its buffer, and stdout may hold on to ours.
    if (!this.out.write(Buffer.from(bytes))) await new Promise<void>((resolve) => this.out.once("drain", resolve));
  }

  async finish(size: number, hash: string): Promise<Commit> {
    if (size !== this.position || this.hasher.digest() !== hash)
      throw new XferError("integrity", `'${this.entry.path}' failed verification: the output is corrupt`);
    // The bytes are already out; there is no name to publish.
    const nothing = async () => {};
    return { bytes: size, disk: null, release: nothing, sync: nothing, publish: nothing, discard: nothing };
  }

  async abandon(): Promise<void> {}
}
