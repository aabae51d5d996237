/** Every failure the user can see has a code; the code decides the process exit status. */

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  network: 3,
  rejected: 4,
  integrity: 5,
  localIo: 6,
  /** Wrong code, or data altered on the way: the peer could not prove it holds the session key. */
  auth: 7,
  /** 128 + SIGINT, as shells expect. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type ErrorCode =
  | "usage"
  | "unreachable"
  | "refused"
  | "timeout"
  | "peer-gone"
  | "protocol"
  | "version"
  | "auth"
  | "tampered"
  | "rejected"
  | "exists"
  | "unsafe-name"
  /** The receiver's filesystem cannot hold this name beside another offered one (case, normalisation). */
  | "name-collision"
  | "busy"
  | "taken-over"
  | "integrity"
  | "incomplete"
  | "disk-full"
  | "io"
  | "source-unreadable"
  | "internal";

const EXIT_OF: Record<ErrorCode, ExitCode> = {
  usage: EXIT.usage,
  unreachable: EXIT.network,
  refused: EXIT.network,
  timeout: EXIT.network,
  "peer-gone": EXIT.network,
  protocol: EXIT.network,
  version: EXIT.rejected,
  auth: EXIT.auth,
  tampered: EXIT.auth,
  rejected: EXIT.rejected,
  exists: EXIT.rejected,
  "unsafe-name": EXIT.rejected,
  "name-collision": EXIT.rejected,
  busy: EXIT.rejected,
  "taken-over": EXIT.network,
  integrity: EXIT.integrity,
  incomplete: EXIT.integrity,
  "disk-full": EXIT.localIo,
  io: EXIT.localIo,
  "source-unreadable": EXIT.localIo,
  internal: EXIT.internal,
};

export class XferError extends Error {
  override readonly name = "XferError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  get exitCode(): ExitCode {
    return EXIT_OF[this.code];
  }
}

/** Map node/Bun system errors to what a user can act on; keep XferErrors as they are. */
export function toXferError(err: unknown, context = ""): XferError {
  if (err instanceof XferError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const where = context ? `${context}: ` : "";
  switch (e?.code) {
    case "ENOSPC":
    case "EDQUOT":
      return new XferError("disk-full", `${where}no space left on device`, { cause: err });
    case "ECONNREFUSED":
      return new XferError("refused", `${where}connection refused`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_NODATA":
      return new XferError("unreachable", `${where}the host name did not resolve (${e.code}): check its spelling`, {
        cause: err,
      });
    case "EADDRINUSE":
      return new XferError(
        "usage",
        `${where}the port is in use (EADDRINUSE): another program, or another xfer recv, listens there; choose another with --listen`,
        { cause: err },
      );
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
      return new XferError("unreachable", `${where}host unreachable (${e.code})`, { cause: err });
    case "ETIMEDOUT":
      return new XferError("timeout", `${where}timed out`, { cause: err });
    case "ECONNRESET":
    case "EPIPE":
      return new XferError("peer-gone", `${where}connection lost (${e.code})`, { cause: err });
    case "EACCES":
    case "EPERM":
    case "EROFS":
    case "EISDIR":
    case "ENOTDIR":
    case "EEXIST":
    case "ENOENT":
      return new XferError("io", `${where}${e.message}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new XferError("internal", `${where}${message}`, { cause: err });
}
