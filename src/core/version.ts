import pkg from "../../package.json" with { type: "json" };

/** Replaced at build time by build.ts (the commit the binary was made from). */
export const BUILD_COMMIT: string = process.env.XFER_BUILD_COMMIT ?? "source";
export const VERSION: string = pkg.version;
export const SOFTWARE = `xfer/${VERSION}`;
