/**
 * BLAKE3 for end-to-end integrity: measured here at ~6 GiB/s through the native addon against
 * 1.7 GiB/s for SHA-256, so hashing is never the bottleneck. Where the addon cannot load (another
 * runtime, a platform without a prebuilt binding) a WebAssembly BLAKE3 gives the same digests.
 */
import { createRequire } from "node:module";

export const HASH_ALGORITHM = "blake3";

export interface StreamingHasher {
  update(data: Uint8Array): void;
  /** Hex digest of everything so far; the hasher can keep going (resume needs prefix digests). */
  digest(): string;
  /**
   * The last bytes: update(data) then digest(), without a copy of `data` (a small file in hand whole
   * is hashed in one call over the caller's own bytes; the copy update() must make was ~4 % of either
   * side's CPU on a tree of 4 KiB files, by profile; docs/BENCHMARKS.md). digest() still answers
   * after it; update() may not follow.
   */
  digestWith(data: Uint8Array): string;
}

type Factory = () => Promise<StreamingHasher>;
let factory: Factory | undefined;
let native: Factory | null | undefined;

/**
 * The addon's path inside a compiled binary: build.ts defines it per target, so `bun build --compile`
 * embeds that target's .node file (a require() through createRequire is invisible to the bundler, and
 * the binary has no node_modules: it fell back to WebAssembly, 3x slower end to end, measured).
 */
declare const XFER_EMBEDDED_BLAKE3: string | undefined;

function loadNative(): Factory | null {
  try {
    type Addon = typeof import("@napi-rs/blake-hash");
    const addon: Addon =
      typeof XFER_EMBEDDED_BLAKE3 === "string"
        ? require(XFER_EMBEDDED_BLAKE3)
        : createRequire(import.meta.url)("@napi-rs/blake-hash");
    const { Blake3Hasher, blake3 } = addon;
    return async () =>
      new LazyHasher(
        () => new Blake3Hasher(),
        (data) => blake3(asBuffer(data)).toString("hex"),
      );
  } catch {
    return null;
  }
}

const asBuffer = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** BLAKE3 of no bytes, computed once. */
let emptyDigest: string | undefined;

/** Bytes a hasher keeps as a copy before it makes its native hasher. */
const LAZY_BYTES = 64 * 1024;

/**
 * A native hasher made only once the bytes exceed LAZY_BYTES; below that the digest is one call over
 * a copy of them. Each native hasher holds ~2 KB outside the JS heap until it is collected, which
 * the collector does not count: one a small file, 300,000 of them were 700 MB of RSS (measured).
 */
class LazyHasher implements StreamingHasher {
  private native: { update(b: Buffer): unknown; digest(format: "hex"): string } | null = null;
  private parts: Uint8Array[] = [];
  private bytes = 0;
  /** The digest, once digestWith() took the last bytes without a copy. */
  private final: string | null = null;

  constructor(
    private readonly make: () => { update(b: Buffer): unknown; digest(format: "hex"): string },
    private readonly once: (data: Uint8Array) => string,
  ) {}

  update(data: Uint8Array): void {
    if (this.final !== null) {
      if (data.byteLength > 0) throw new Error("hasher updated after its last bytes");
      return;
    }
    if (this.native) {
      this.native.update(asBuffer(data));
      return;
    }
    if (this.bytes + data.byteLength > LAZY_BYTES) {
      const native = this.make();
      for (const part of this.parts) native.update(asBuffer(part));
      native.update(asBuffer(data));
      this.native = native;
      this.parts = [];
      return;
    }
    // A copy: callers reuse their buffers once update() returns.
    if (data.byteLength > 0) this.parts.push(new Uint8Array(data));
    this.bytes += data.byteLength;
  }

  digest(): string {
    if (this.final !== null) return this.final;
    if (this.native) return this.native.digest("hex");
    // Nothing hashed (an empty file): the same digest every time, and 10^5 calls were 0.4 s of a re-sent tree's.
    if (this.bytes === 0) {
      emptyDigest ??= this.once(new Uint8Array(0));
      return emptyDigest;
    }
    return this.once(this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts));
  }

  digestWith(data: Uint8Array): string {
    if (this.native || this.bytes > 0 || data.byteLength > LAZY_BYTES) {
      this.update(data);
      return this.digest();
    }
    this.final = this.once(data);
    return this.final;
  }
}

async function loadWasm(): Promise<Factory> {
  const { createBLAKE3 } = await import("hash-wasm");
  return async () => {
    const h = await createBLAKE3();
    h.init();
    const digest = () => {
      const state = h.save();
      const hex = h.digest("hex");
      h.load(state);
      return hex;
    };
    return {
      update: (data) => void h.update(data),
      digest,
      digestWith: (data) => {
        h.update(data);
        return digest();
      },
    };
  };
}

function nativeFactory(): Factory | null {
  if (native === undefined) native = process.env.XFER_HASH_IMPL === "wasm" ? null : loadNative();
  return native;
}

export async function newHasher(): Promise<StreamingHasher> {
  factory ??= nativeFactory() ?? (await loadWasm());
  return factory();
}

/** Which BLAKE3 this process uses; `xfer --version` shows it, so a slow fallback is visible. */
export function hashingImplementation(): "blake3-native" | "blake3-wasm" {
  return nativeFactory() ? "blake3-native" : "blake3-wasm";
}
