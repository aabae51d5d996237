import { describe, expect, test } from "bun:test";
import { isAbsolute, join, relative, resolve } from "node:path";
import fc from "fast-check";
import { checkOfferedNames, unsafeNameReason } from "./names.ts";

describe("offered names", () => {
  test.each([
    ["a.txt"],
    ["dir/sub/file.bin"],
    ["ünïcødé/файл.txt"],
    [".hidden"],
    ["a..b"],
    ["می\u200cخواهم.txt"],
    ["family 👨\u200d👩\u200d👧.jpg"],
    ["❤\ufe0f.png"],
  ])("accepts %p", (name) => {
    expect(unsafeNameReason(name)).toBeNull();
  });

  test.each([
    ["", "empty"],
    ["/etc/passwd", "absolute"],
    ["../x", "'..'"],
    ["a/../../x", "'..'"],
    ["a/./b", "'.'"],
    ["a//b", "empty path component"],
    ["a/", "empty path component"],
    ["C:/x", "drive letter"],
    ["c:x", "drive letter"],
    ["a\\..\\b", "reserved character"],
    ["nul", "reserved device"],
    ["dir/COM1.txt", "reserved device"],
    ["a\u0000b", "control"],
    ["a\nb", "control"],
    ["trailing.", "dot or space"],
    ["x.xfer-part", ".xfer-part"],
    ["a".repeat(256), "too long"],
    ["a\u0085b", "C1"],
    [Array(257).fill("d").join("/"), "folders deep"],
    ["invoice\u202etxt.exe", "bidi"],
    ["re\u2067adme", "bidi"],
    ["pass\u200bwd", "invisible"],
    ["\ufeffbom", "invisible"],
    ["x\ufffe", "invisible"],
    ["a\ud800", "lone surrogate"],
    ["\udc00b", "lone surrogate"],
  ])("refuses %p", (name, why) => {
    expect(unsafeNameReason(name)).toContain(why);
  });

  test("a duplicate differing only in case is refused", () => {
    expect(checkOfferedNames(["Readme.md", "README.md"])?.reason).toBe("duplicate name");
  });

  test("any accepted name stays inside the receiving folder", () => {
    const root = resolve("/srv/recv");
    const segment = fc.oneof(
      fc.constantFrom("..", ".", "", "a", "b", "C:", "con", "x\\..", "/"),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (parts, lead) => {
        const name = (lead ? "/" : "") + parts.join("/");
        if (unsafeNameReason(name) !== null) return;
        const target = resolve(join(root, ...name.split("/")));
        const rel = relative(root, target);
        expect(rel.startsWith("..") || isAbsolute(rel) || rel === "").toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});
