import { expect, test } from "bun:test";
import { ControlMessage } from "./messages.ts";

test("unknown fields are ignored so newer peers interoperate", () => {
  const parsed = ControlMessage.parse({ type: "file", index: 1, offset: 0, futureField: { x: 1 } });
  expect(parsed).toEqual({ type: "file", index: 1, offset: 0 });
});

test.each([
  [{ type: "file", index: -1, offset: 0 }],
  [{ type: "file-end", index: 0, size: 1, hash: "xyz" }],
  [{ type: "offer-page", first: 0, entries: [{ path: "a", kind: "socket", size: 1, mode: 0, mtimeMs: 0 }] }],
  [{ type: "offer-page", first: 0, entries: [] }],
  [{ type: "offer-head", entries: 1, files: 1, bytes: -1 }],
  [{ type: "accept", first: 0, files: [{ index: 0, offset: 2 ** 60 }] }],
  [{ type: "accept", files: [] }],
  [{ type: "hello", protocol: "other", version: 1, role: "sender", software: "x" }],
])("invalid message %# is refused", (msg) => {
  expect(ControlMessage.safeParse(msg).success).toBe(false);
});
