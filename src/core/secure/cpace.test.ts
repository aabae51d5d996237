import { describe, expect, test } from "bun:test";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import fc from "fast-check";
import { CpaceError, cpaceIsk, cpaceShare, generatorString, lvCat, prependLen, scalarMultVfy } from "./cpace.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => hexToBytes(s.replace(/\s+/g, ""));

/** A random source that yields `scalar` (little-endian, < group order) so the sampler keeps it as is. */
function fixedScalar(scalarLe: string): (n: number) => Uint8Array {
  return (n) => {
    const out = new Uint8Array(n);
    out.set(hex(scalarLe));
    return out;
  };
}

// Official test vectors of draft-irtf-cfrg-cpace (identical in -20 and -21), appendix
// "Test vector for CPace using group ristretto255 and hash SHA-512".
const TV = {
  prs: enc("Password"),
  ci: hex("0b415f696e69746961746f720b425f726573706f6e646572"),
  sid: hex("7e4b4791d6a8ef019b936c79fb7f2c57"),
  generatorString: `
    11435061636552697374726574746f3235350850617373776f726464
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000180b415f696e69746961746f
    720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
    2c57`,
  generatorHash: `
    da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288
    b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772
    05f90851a657ee27`,
  adA: enc("ADa"),
  ya: "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08",
  Ya: "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157",
  adB: enc("ADb"),
  yb: "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d",
  Yb: "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258",
  K: "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f",
  iskIr: `
    b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc
    ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c
    3fa2068af7900447`,
};

describe("string utilities (draft test vectors)", () => {
  test("prepend_len", () => {
    expect(bytesToHex(prependLen(new Uint8Array()))).toBe("00");
    expect(bytesToHex(prependLen(enc("1234")))).toBe("0431323334");
    const r127 = Uint8Array.from({ length: 127 }, (_, i) => i);
    expect(bytesToHex(prependLen(r127).subarray(0, 2))).toBe("7f00");
    expect(prependLen(r127).length).toBe(128);
    const r128 = Uint8Array.from({ length: 128 }, (_, i) => i);
    expect(bytesToHex(prependLen(r128).subarray(0, 3))).toBe("800100");
    expect(prependLen(r128).length).toBe(130);
  });

  test("lv_cat", () => {
    expect(bytesToHex(lvCat(enc("1234"), enc("5"), new Uint8Array(), enc("678")))).toBe("043132333401350003363738");
  });

  test("transcript_ir layout is lv_cat(Ya, ADa) || lv_cat(Yb, ADb)", () => {
    const t = new Uint8Array([...lvCat(enc("123"), enc("PartyA")), ...lvCat(enc("234"), enc("PartyB"))]);
    expect(bytesToHex(t)).toBe("03313233065061727479410332333406506172747942");
  });

  test("generator_string and its hash", () => {
    const gs = generatorString(enc("CPaceRistretto255"), TV.prs, TV.ci, TV.sid, 128);
    expect(gs.length).toBe(170);
    expect(bytesToHex(gs)).toBe(bytesToHex(hex(TV.generatorString)));
    expect(bytesToHex(sha512(gs))).toBe(bytesToHex(hex(TV.generatorHash)));
  });
});

describe("CPace ristretto255 / SHA-512 (draft test vectors)", () => {
  const a = cpaceShare(TV.prs, TV.ci, TV.sid, fixedScalar(TV.ya));
  const b = cpaceShare(TV.prs, TV.ci, TV.sid, fixedScalar(TV.yb));

  test("Ya and Yb", () => {
    expect(bytesToHex(a.element)).toBe(TV.Ya);
    expect(bytesToHex(b.element)).toBe(TV.Yb);
  });

  test("K from both sides", () => {
    expect(bytesToHex(scalarMultVfy(a.scalar, b.element))).toBe(TV.K);
    expect(bytesToHex(scalarMultVfy(b.scalar, a.element))).toBe(TV.K);
  });

  test("ISK_IR from both sides", () => {
    const want = bytesToHex(hex(TV.iskIr));
    expect(bytesToHex(cpaceIsk(a, TV.adA, b.element, TV.adB, true, TV.sid))).toBe(want);
    expect(bytesToHex(cpaceIsk(b, TV.adB, a.element, TV.adA, false, TV.sid))).toBe(want);
  });

  test("scalar_mult_vfy with a valid input", () => {
    const s = BigInt(
      `0x${bytesToHex(hex("7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05").reverse())}`,
    );
    const x = hex("2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
    expect(bytesToHex(scalarMultVfy(s, x))).toBe("7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e");
  });

  test("scalar_mult_vfy aborts on the draft's invalid inputs", () => {
    const s = 12345n;
    expect(() => scalarMultVfy(s, hex("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"))).toThrow(
      CpaceError,
    );
    expect(() => scalarMultVfy(s, new Uint8Array(32))).toThrow(CpaceError);
  });
});

describe("CPace behaviour", () => {
  const ci = enc("ci");
  const sid = enc("sid");
  const adA = enc("A");
  const adB = enc("B");

  function run(pwA: string, pwB: string, opts: { ciB?: Uint8Array; sidB?: Uint8Array; adBSeenByA?: Uint8Array } = {}) {
    const a = cpaceShare(enc(pwA), ci, sid);
    const b = cpaceShare(enc(pwB), opts.ciB ?? ci, opts.sidB ?? sid);
    const iskA = cpaceIsk(a, adA, b.element, opts.adBSeenByA ?? adB, true, sid);
    const iskB = cpaceIsk(b, adB, a.element, adA, false, opts.sidB ?? sid);
    return { iskA, iskB };
  }

  test("same password: same 64-byte ISK", () => {
    const { iskA, iskB } = run("7-apple-river-stone-tiger", "7-apple-river-stone-tiger");
    expect(iskA.length).toBe(64);
    expect(bytesToHex(iskA)).toBe(bytesToHex(iskB));
  });

  test("an empty sid works", () => {
    const a = cpaceShare(enc("pw"), ci, new Uint8Array());
    const b = cpaceShare(enc("pw"), ci, new Uint8Array());
    expect(bytesToHex(cpaceIsk(a, adA, b.element, adB, true, new Uint8Array()))).toBe(
      bytesToHex(cpaceIsk(b, adB, a.element, adA, false, new Uint8Array())),
    );
  });

  test.each([
    ["password", run("pw-one", "pw-two")],
    ["channel identifier", run("pw", "pw", { ciB: enc("other") })],
    ["session id", run("pw", "pw", { sidB: enc("other") })],
    ["associated data", run("pw", "pw", { adBSeenByA: enc("C") })],
  ])("different %s: different ISK", (_what, { iskA, iskB }) => {
    expect(bytesToHex(iskA)).not.toBe(bytesToHex(iskB));
  });

  test("both sides claiming the same role disagree", () => {
    const a = cpaceShare(enc("pw"), ci, sid);
    const b = cpaceShare(enc("pw"), ci, sid);
    expect(bytesToHex(cpaceIsk(a, adA, b.element, adB, true, sid))).not.toBe(
      bytesToHex(cpaceIsk(b, adB, a.element, adA, true, sid)),
    );
  });

  test.each([
    ["the identity", new Uint8Array(32)],
    ["32 bytes of 0xff", new Uint8Array(32).fill(0xff)],
    ["a non-canonical encoding", hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")],
    ["31 bytes", new Uint8Array(31).fill(1)],
    ["33 bytes", new Uint8Array(33)],
    ["nothing", new Uint8Array()],
  ])("rejects %s as the peer element", (_what, peer) => {
    const own = cpaceShare(enc("pw"), ci, sid);
    expect(() => cpaceIsk(own, adA, peer, adB, true, sid)).toThrow(CpaceError);
  });

  test("a zero draw is redrawn, not used", () => {
    let calls = 0;
    const share = cpaceShare(enc("pw"), ci, sid, (n) => {
      calls += 1;
      const out = new Uint8Array(n);
      if (calls > 1) out[0] = 5;
      return out;
    });
    expect(calls).toBe(2);
    expect(share.scalar).toBe(5n);
  });

  test("a short random source is refused", () => {
    expect(() => cpaceShare(enc("pw"), ci, sid, () => new Uint8Array(32))).toThrow(CpaceError);
  });

  test("fresh shares differ every time, for any password", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (prs) => {
        const one = cpaceShare(prs, ci, sid);
        const two = cpaceShare(prs, ci, sid);
        expect(one.element.length).toBe(32);
        expect(bytesToHex(one.element)).not.toBe(bytesToHex(two.element));
        expect(bytesToHex(cpaceIsk(one, adA, two.element, adB, true, sid))).toBe(
          bytesToHex(cpaceIsk(two, adB, one.element, adA, false, sid)),
        );
      }),
      { numRuns: 25 },
    );
  });
});
