import { describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Commit, PublishBatch } from "./publish-batch.ts";
import { syncFilesystem } from "./syncfs.ts";

/** A commit that logs what happens to it (the batches below have no syncfs: each file syncs itself). */
function fake(name: string, log: string[], opts: { failSync?: boolean; bytes?: number } = {}): Commit {
  return {
    bytes: opts.bytes ?? 1,
    disk: null,
    sync: async () => {
      log.push(`sync ${name}`);
      if (opts.failSync) throw new Error(`disk said no to ${name}`);
    },
    release: async () => void log.push(`release ${name}`),
    publish: async () => void log.push(`publish ${name}`),
    discard: async () => void log.push(`discard ${name}`),
  };
}

const NO_SYNCFS = null;

describe("publish batch", () => {
  test("files are published only after every file of the batch synced, then reported", async () => {
    const log: string[] = [];
    const batch = new PublishBatch(
      async () => void log.push("flushed"),
      { files: 3, releasedFiles: 3, bytes: 1 << 30 },
      NO_SYNCFS,
    );
    for (const n of ["a", "b"]) await batch.add(fake(n, log), () => log.push(`ok ${n}`));
    expect(log).toEqual([]);
    await batch.add(fake("c", log), () => log.push("ok c"));
    await batch.drain();
    const lastSync = Math.max(...["a", "b", "c"].map((n) => log.indexOf(`sync ${n}`)));
    const firstPublish = Math.min(...["a", "b", "c"].map((n) => log.indexOf(`publish ${n}`)));
    expect(lastSync).toBeLessThan(firstPublish);
    expect(log.indexOf("ok a")).toBeGreaterThan(log.indexOf("publish a"));
    expect(log.at(-1)).toBe("flushed");
  });

  test("a batch full of bytes flushes early; drain publishes what is left", async () => {
    const log: string[] = [];
    const batch = new PublishBatch(async () => {}, { files: 100, releasedFiles: 100, bytes: 10 }, NO_SYNCFS);
    await batch.add(fake("big", log, { bytes: 10 }), () => {});
    await batch.add(fake("small", log), () => {});
    await batch.drain();
    expect(log.filter((l) => l.startsWith("publish"))).toEqual(["publish big", "publish small"]);
    expect(log.indexOf("publish big")).toBeLessThan(log.indexOf("sync small"));
  });

  test("a failed sync publishes nothing of that batch and surfaces the error", async () => {
    const log: string[] = [];
    const batch = new PublishBatch(async () => {}, { files: 2, releasedFiles: 2, bytes: 1 << 30 }, NO_SYNCFS);
    await batch.add(fake("a", log), () => log.push("ok a"));
    await batch.add(fake("b", log, { failSync: true }), () => log.push("ok b"));
    await expect(batch.drain()).rejects.toThrow("disk said no to b");
    expect(log.some((l) => l.startsWith("publish") || l.startsWith("ok"))).toBe(false);
    expect(log).toContain("discard a");
  });

  test("abandon closes what was not published and publishes nothing", async () => {
    const log: string[] = [];
    const batch = new PublishBatch(async () => {}, undefined, NO_SYNCFS);
    await batch.add(fake("a", log), () => log.push("ok a"));
    await batch.abandon();
    expect(log).toEqual(["discard a"]);
  });

  test("with syncfs, one call per filesystem replaces every file's own sync", async () => {
    const dir = await mkdtemp(join(tmpdir(), "xfer-batch-"));
    try {
      const log: string[] = [];
      const synced: string[] = [];
      const commits = ["a", "b", "c"].map((n) => {
        writeFileSync(join(dir, n), n);
        return { ...fake(n, log), disk: { path: join(dir, n), dev: 1 } };
      });
      const batch = new PublishBatch(async () => {}, undefined, {
        usable: () => true,
        sync: async (path) => {
          synced.push(path);
          return true;
        },
      });
      for (const c of commits) await batch.add(c, () => {});
      await batch.drain();
      expect(synced.length).toBe(1);
      expect(log.filter((l) => l.startsWith("sync"))).toEqual([]);
      // Every descriptor was closed (released) before the one syncfs.
      expect(log.filter((l) => l.startsWith("release")).length).toBe(3);
      expect(log.filter((l) => l.startsWith("publish")).length).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("released files are renamed together after the syncfs; one that cannot be renamed fails alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "xfer-batch-"));
    try {
      const log: string[] = [];
      const moved: string[] = [];
      const reported: string[] = [];
      const commits = ["a", "b", "c"].map((n) => {
        if (n !== "b") writeFileSync(join(dir, `${n}.part`), n);
        return {
          ...fake(n, log),
          disk: { path: join(dir, `${n}.part`), dev: 1 },
          move: { from: join(dir, `${n}.part`), to: join(dir, n), name: n, moved: () => moved.push(n) },
        };
      });
      let syncedAt = -1;
      const batch = new PublishBatch(async () => {}, undefined, {
        usable: () => true,
        sync: async () => {
          syncedAt = log.length;
          // Nothing has its final name before the batch is durable.
          expect(readdirSync(dir).sort()).toEqual(["a.part", "c.part"]);
          return true;
        },
      });
      for (const c of commits) await batch.add(c, () => reported.push(c.move.name));
      await expect(batch.drain()).rejects.toMatchObject({ message: expect.stringContaining("saving 'b'") });
      expect(syncedAt).toBe(3);
      expect(readdirSync(dir).sort()).toEqual(["a", "c"]);
      expect(moved).toEqual(["a", "c"]);
      expect(reported).toEqual(["a", "c"]);
      // The moves replaced publish(): it ran for none of them.
      expect(log.filter((l) => l.startsWith("publish"))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("with none in flight, a batch of eagerFiles released files flushes at once; while one is, they gather", async () => {
    const log: string[] = [];
    const syncs: (() => void)[] = [];
    const batch = new PublishBatch(
      async () => {},
      { files: 100, releasedFiles: 100, bytes: 1 << 30, eagerFiles: 2 },
      { usable: () => true, sync: () => new Promise<boolean>((r) => syncs.push(() => r(true))) },
    );
    const onDisk = (n: string) => ({ ...fake(n, log), disk: { path: `/d/${n}`, dev: 1 } });
    await batch.add(onDisk("a"), () => log.push("ok a"));
    await Bun.sleep(1);
    expect(syncs.length).toBe(0);
    await batch.add(onDisk("b"), () => log.push("ok b"));
    await Bun.sleep(1);
    expect(syncs.length).toBe(1);
    for (const n of ["c", "d", "e"]) await batch.add(onDisk(n), () => log.push(`ok ${n}`));
    await Bun.sleep(1);
    // The first flush is still waiting for its syncfs: nothing is published, no second flush yet.
    expect(syncs.length).toBe(1);
    expect(log.filter((l) => l.startsWith("ok"))).toEqual([]);
    syncs[0]!();
    const drained = batch.drain();
    while (syncs.length < 2) await Bun.sleep(1);
    expect(log.filter((l) => l.startsWith("ok"))).toEqual(["ok a", "ok b"]);
    syncs[1]!();
    await drained;
    expect(log.filter((l) => l.startsWith("ok"))).toEqual(["ok a", "ok b", "ok c", "ok d", "ok e"]);
  });

  test("the filesystem check runs once per device and session, not once per file", async () => {
    const asked: string[] = [];
    const batch = new PublishBatch(async () => {}, undefined, {
      usable: (path) => {
        asked.push(path);
        return true;
      },
      sync: async () => true,
    });
    const log: string[] = [];
    const onDevice = (n: string, dev: number) => ({ ...fake(n, log), disk: { path: `/d${dev}/${n}`, dev } });
    for (const c of [onDevice("a", 1), onDevice("b", 1), onDevice("c", 2), onDevice("d", 1)])
      await batch.add(c, () => {});
    await batch.drain();
    expect(asked).toEqual(["/d1/a", "/d2/c"]);
    expect(log.filter((l) => l.startsWith("publish")).length).toBe(4);
  });

  test.skipIf(!syncFilesystem.usable(tmpdir()))("syncFilesystem syncs where it is used (Linux, sync -f)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "xfer-syncfs-"));
    try {
      writeFileSync(join(dir, "f"), "x");
      expect(await syncFilesystem.sync(join(dir, "f"))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
