/** Control messages of a datagram session, validated like every other message (zod). */
import { z } from "zod";
import { ManifestEntry } from "../protocol/messages.ts";

const u53 = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hashHex = z.string().regex(/^[0-9a-f]{64}$/);

export const DgOffer = z.object({
  type: z.literal("dg-offer"),
  version: z.number().int().positive(),
  software: z.string().max(200),
  entries: z.array(ManifestEntry).max(100_000),
  /** Payload bytes per data datagram. */
  chunk: z.number().int().min(1).max(65_000),
  /** Interleaved XOR parity (see fec.ts), when the sender adds it. */
  fec: z.object({ k: z.number().int().min(1).max(64), m: z.number().int().min(1).max(16) }).optional(),
});
export const Range = z.tuple([u53, u53]);
/**
 * `resume`: files the receiver already holds in part (from an earlier datagram session), with the
 * byte ranges still missing; the sender sends only those. A sender that ignores it sends everything.
 */
export const DgAccept = z.object({
  type: z.literal("dg-accept"),
  resume: z
    .array(z.object({ index: u53, missing: z.array(Range).max(1_000_000) }))
    .max(100_000)
    .default([]),
});
export const DgReject = z.object({
  type: z.literal("dg-reject"),
  code: z.string().max(64),
  message: z.string().max(4096),
});
export const DgEnd = z.object({
  type: z.literal("dg-end"),
  /** Data datagrams sent in the whole session: the receiver's "expected". */
  datagrams: u53,
  files: z.array(z.object({ index: u53, size: u53, hash: hashHex })).max(100_000),
});
export const DgReport = z.object({
  type: z.literal("dg-report"),
  expected: u53,
  received: u53,
  lost: u53,
  duplicated: u53,
  reordered: u53,
  corrupt: u53,
  /** Lost datagrams rebuilt from parity (they count in `lost` too: the network did lose them). */
  recovered: u53.default(0),
  files: z
    .array(
      z.object({
        index: u53,
        status: z.enum(["complete", "incomplete", "failed"]),
        missing: z.array(Range).max(1_000_000),
        message: z.string().max(4096).optional(),
      }),
    )
    .max(100_000),
});

export const DgMessage = z.discriminatedUnion("type", [DgOffer, DgAccept, DgReject, DgEnd, DgReport]);
export type DgMessage = z.infer<typeof DgMessage>;
export type DgReport = z.infer<typeof DgReport>;

export function parseDgMessage(json: string): DgMessage | null {
  try {
    const r = DgMessage.safeParse(JSON.parse(json));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
