/**
 * Session control messages (docs/PROTOCOL.md). Every message received is validated here before
 * the core looks at it. Objects are not strict: unknown fields are ignored so newer peers interoperate.
 */
import { z } from "zod";

/** Bumped on any change an older peer would misread. Peers must speak the same major version. */
export const SESSION_PROTOCOL_VERSION = 3;
export const PROTOCOL_NAME = "xfer";

const u53 = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hashHex = z.string().regex(/^[0-9a-f]{64}$/);
const errorCode = z.string().min(1).max(64);
const text = z.string().max(4096);

export const Hello = z.object({
  type: z.literal("hello"),
  protocol: z.literal(PROTOCOL_NAME),
  version: z.number().int().positive(),
  role: z.enum(["sender", "receiver"]),
  software: z.string().max(200),
  /** Optional capabilities a newer peer may announce; unknown ones are ignored. */
  features: z.array(z.string().max(64)).max(64).default([]),
});

export const ManifestEntry = z.object({
  path: z.string().min(1).max(4096),
  /** "symlink" only to a receiver that announced FEATURE_SYMLINKS. */
  kind: z.enum(["file", "dir", "symlink"]),
  /** A symlink's target, relative to the link's folder (the receiver checks it stays inside). */
  target: z.string().min(1).max(4096).optional(),
  /** Null for a stream of unknown length (stdin). */
  size: u53.nullable(),
  mode: z.number().int().min(0).max(0o7777),
  /** Modification time in ms since the epoch. */
  mtimeMs: z.number().finite(),
});

/** Entries in one offer (every page together): the receiver keeps ~30 bytes of tables per entry. */
export const MAX_OFFER_ENTRIES = 10_000_000;
/** Entries in one page of an offer (stream sessions). */
export const MAX_PAGE_ENTRIES = 4096;
/** A page's control message, in bytes of JSON: pages stay small on both sides whatever the tree. */
export const MAX_PAGE_BYTES = 1 << 20;

/**
 * The offer's first message: what the sender knows of the whole tree before any page (it walked it
 * first), for the receiver's question and its checks. Every page must fit inside these totals and
 * the end must meet them exactly.
 */
export const OfferHead = z.object({
  type: z.literal("offer-head"),
  entries: z.number().int().nonnegative().max(MAX_OFFER_ENTRIES),
  files: z.number().int().nonnegative().max(MAX_OFFER_ENTRIES),
  /** Bytes of every file together; null when one has an unknown size (stdin). */
  bytes: u53.nullable(),
});

/** The schema; the channel checks a page's entries with checkOfferEntries (offer.ts), which accepts the same. */
export const OfferPage = z.object({
  type: z.literal("offer-page"),
  /** Index of the page's first entry: the entries offered before it. */
  first: u53,
  entries: z.array(ManifestEntry).min(1).max(MAX_PAGE_ENTRIES),
});

/** No more pages: the entries must number what the head said. */
export const OfferEnd = z.object({ type: z.literal("offer-end") });

export const AcceptedFile = z.object({
  index: u53,
  /** Bytes of verified data the receiver already has (resume), 0 for a fresh file. */
  offset: u53,
  /** BLAKE3 of those first `offset` bytes, so the sender can confirm they match its file. */
  prefixHash: hashHex.optional(),
  /** The final file already exists with this size: the sender may prove it identical and skip it. */
  existing: z.boolean().default(false),
});

/** An offered entry the receiver will not take, while it takes the others (only to a sender with FEATURE_REFUSE). */
export const RefusedEntry = z.object({ index: u53, code: errorCode, message: text });

/** The answer to one page (pages are answered in order, each once). */
export const Accept = z.object({
  type: z.literal("accept"),
  /** The page's `first`. */
  first: u53,
  files: z.array(AcceptedFile),
  refused: z.array(RefusedEntry).default([]),
});

/**
 * Hello feature: this sender understands `accept.refused` (and sends nothing for those entries).
 * Without it a receiver refuses the whole offer instead, as before.
 */
export const FEATURE_REFUSE = "refuse-entries";

/** Hello feature: this receiver creates symbolic links offered as `kind: "symlink"` entries. */
export const FEATURE_SYMLINKS = "symlinks";
export const Reject = z.object({ type: z.literal("reject"), code: errorCode, message: text });

/** Data for entry `index` follows, starting at `offset` (0 = discard any partial data). */
export const FileStart = z.object({ type: z.literal("file"), index: u53, offset: u53 });
export const FileEnd = z.object({ type: z.literal("file-end"), index: u53, size: u53, hash: hashHex });
export const FileOk = z.object({ type: z.literal("file-ok"), index: u53, skipped: z.boolean().default(false) });
export const FileFailed = z.object({ type: z.literal("file-failed"), index: u53, code: errorCode, message: text });
export const Done = z.object({ type: z.literal("done") });
export const Summary = z.object({ type: z.literal("summary"), files: u53, bytes: u53, failed: u53 });
export const Abort = z.object({ type: z.literal("error"), code: errorCode, message: text });
/**
 * Receiver → sender, only when the sender's hello listed the "received" feature: payload bytes of
 * this session written so far, so the sender's progress shows what arrived rather than what it queued.
 */
export const Received = z.object({ type: z.literal("received"), bytes: u53 });
/** Optional capability names a peer may list in its hello (see docs/PROTOCOL.md §1.2). */
export const FEATURE_RECEIVED = "received";
/** Keeps an idle session alive while one side does long local work (hashing a large resume prefix). */
export const Ping = z.object({ type: z.literal("ping") });

export const ControlMessage = z.discriminatedUnion("type", [
  Hello,
  OfferHead,
  OfferPage,
  OfferEnd,
  Accept,
  Reject,
  FileStart,
  FileEnd,
  FileOk,
  FileFailed,
  Done,
  Summary,
  Abort,
  Ping,
  Received,
]);

export type ControlMessage = z.infer<typeof ControlMessage>;
export type ManifestEntry = z.infer<typeof ManifestEntry>;
export type AcceptedFile = z.infer<typeof AcceptedFile>;
export type RefusedEntry = z.infer<typeof RefusedEntry>;
export type MessageOf<T extends ControlMessage["type"]> = Extract<ControlMessage, { type: T }>;
