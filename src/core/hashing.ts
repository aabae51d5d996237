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
    const addon: Addon =
      typeof XFER_EMBEDDED_BLAKE3 === "string"
        ? require(XFER_EMBEDDED_BLAKE3)
        : createRequire(import.meta.url)("@napi-rs/blake-hash");
    const { Blake3Hasher, blake3 } = addon;
    return async () => new OnePieceFirst(Blake3Hasher, blake3);
  } catch {
    return null;
  }
}

type Addon = typeof import("@napi-rs/blake-hash");
/** The most bytes of a first piece held back (copied) for a one-shot hash. */
const HOLD_MAX_BYTES = 64 << 10;

/**
 * The addon's streaming hasher is made only when a second piece comes: a small file is hashed as
 * one piece, and the one-shot hash of 4 KiB took about half the time of making a streaming hasher,
 * updating and finishing it (each a native call; docs/BENCHMARKS.md, issue 14).
 */
class OnePieceFirst implements StreamingHasher {
  private streaming: InstanceType<Addon["Blake3Hasher"]> | null = null;
  /** A copy of the only piece so far: the caller may reuse its buffer once update returns. */
  private first: Buffer | null = null;

  constructor(
    private readonly Streaming: Addon["Blake3Hasher"],
    private readonly oneShot: Addon["blake3"],
  ) {}

  update(data: Uint8Array): void {
    const piece = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.streaming && this.first === null && piece.byteLength <= HOLD_MAX_BYTES) {
      this.first = Buffer.from(piece);
      return;
    }
    if (!this.streaming) {
      this.streaming = new this.Streaming();
      if (this.first) this.streaming.update(this.first);
      this.first = null;
    }
    this.streaming.update(piece);
  }

  digest(): string {
    if (this.streaming) return this.streaming.digest("hex");
    return this.oneShot(this.first ?? Buffer.alloc(0)).toString("hex");
  }
}

async function loadWasm(): Promise<Factory> {
  const { createBLAKE3 } = await import("hash-wasm");
  return async () => {
    const h = await createBLAKE3();
    h.init();
    return {
      update: (data) => void h.update(data),
      digest: () => {
        const state = h.save();
        const hex = h.digest("hex");
        h.load(state);
        return hex;
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
