import { expect, test } from "bun:test";
import fc from "fast-check";
import { ControlMessage } from "./messages.ts";
import { checkPerFile } from "./per-file.ts";

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
/** Valid values, near misses and other JSON for each field a per-file message has. */
const field = fc.oneof(
  fc.nat(),
  fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, "1", null, true, false),
  hex64,
  hex64.map((h) => h.toUpperCase()),
  hex64.map((h) => `${h}0`),
  fc.jsonValue(),
);
const message = fc.record(
  {
    type: fc.constantFrom("file", "file-end", "file-ok", "done", "file-failed"),
    index: field,
    offset: field,
    size: field,
    hash: field,
    skipped: field,
    extra: field,
  },
  { requiredKeys: ["type"] },
);

test("accepts exactly what the schema accepts, and yields what it yields", () => {
  fc.assert(
    fc.property(message, (raw) => {
      const schema = ControlMessage.safeParse(raw);
      const fast = checkPerFile(raw as Record<string, unknown>);
      const perFile = ["file", "file-end", "file-ok"].includes(raw.type);
      if (!perFile) expect(fast).toBeNull();
      else if (schema.success) expect(fast).toEqual(schema.data);
      else expect(fast).toBeNull();
    }),
    { numRuns: 20_000 },
  );
});

test("valid per-file messages take the hand-checked path", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), hex64, fc.boolean(), (index, n, hash, skipped) => {
      expect(checkPerFile({ type: "file", index, offset: n })).toEqual({ type: "file", index, offset: n });
      expect(checkPerFile({ type: "file-end", index, size: n, hash })).toEqual({
        type: "file-end",
        index,
        size: n,
        hash,
      });
      expect(checkPerFile({ type: "file-ok", index, skipped })).toEqual({ type: "file-ok", index, skipped });
      expect(checkPerFile({ type: "file-ok", index })).toEqual({ type: "file-ok", index, skipped: false });
    }),
  );
});
