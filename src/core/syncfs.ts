/**
 * syncfs(2): one call that makes everything written to a filesystem durable. Measured on ext4 with its
 * journal (docs/BENCHMARKS.md): 26 ms for 256 new 4 KiB files, against 300–500 ms for their 256
 * fdatasync calls run in parallel, which each force a journal commit. Linux only, reached through
 * Bun's FFI; elsewhere (Deno, macOS, Windows, or no FFI) `loadSyncfs` gives null and callers sync
 * file by file.
 */

export type Syncfs = (fd: number) => boolean;

let loaded: Promise<Syncfs | null> | undefined;

export function loadSyncfs(): Promise<Syncfs | null> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Syncfs | null> {
  if (process.platform !== "linux" || typeof Bun === "undefined" || process.env.XFER_NO_SYNCFS) return null;
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
    return (fd) => libc.symbols.syncfs(fd) === 0;
  } catch {
    return null;
  }
}
