/**
 * A plugin with its own npm dependency: run `npm install` in this folder, then load the folder with
 * `--plugin examples/plugins/with-dep`. Bare imports resolve against the node_modules beside the
 * plugin (a compiled xfer needs --compile-autoload-package-json for that). The transport itself is
 * tcp-xor under another name; the dependency only proves that resolution works.
 */
import type { TransportDefinition } from "xfer/plugin";
import { banner } from "xfer-example-banner";
import tcpXor from "../tcp-xor/index.ts";

export default {
  ...tcpXor,
  name: "tcp-xor-dep",
  description: banner("tcp-xor, loaded with its own node_modules"),
} satisfies TransportDefinition<"stream">;
