import { expect, test } from "bun:test";
import { forPeer } from "./peer-message.ts";

test.each([
  [
    "EACCES: permission denied, open '/home/ann/recv/a.bin.xfer-part'",
    "EACCES: permission denied, open '<local path>'",
  ],
  ["cannot read '/srv/data/x': gone", "cannot read '<local path>': gone"],
  ["failed at C:\\Users\\ann\\x.bin now", "failed at <local path> now"],
  ["in ~/secret/file", "in <local path>"],
  ["'a/b.txt' already exists here", "'a/b.txt' already exists here"],
  ["size 5/10 bytes", "size 5/10 bytes"],
])("%p reaches the peer as %p", (message, expected) => {
  expect(forPeer(message)).toBe(expected);
});
