/**
 * Two NATed homes whose only way to each other crosses bench/netlab's emulated link (delay, loss, rate):
 *
 *   h1 (10.1.0.2) ─ r1 ─veth─ internet (netem-lab's A, 10.77.0.1: the relay) ═emulated═ r2 (netem-lab's B,
 *   10.77.0.2) ─ h2 (10.2.0.2)
 *
 * r1 masquerades out of its "wan" veth, r2 out of its emulated-link device; the internet forwards between
 * them. The same shape as test/helpers/netns.ts buildNetLab (names <prefix>-inet/-r<i>/-h<i>, r1's uplink
 * named "wan"), so bench/punch.ts drives either.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { type NetLab, namespaceBuilder, sh } from "../test/helpers/netns.ts";

const LAB = resolve(import.meta.dir, "netlab/netem-lab");
const DEV = "xf0";

export interface LinkParams {
  delay: string;
  loss: string;
  rate: string;
}

/** `state` is netem-lab's own directory for this lab (its linkemu build, pid, ownership marks). */
export function buildLossyNetLab(prefix: string, link: LinkParams, state: string): NetLab {
  const internet = `${prefix}-inet`;
  const [r1, h1, r2, h2] = [`${prefix}-r1`, `${prefix}-h1`, `${prefix}-r2`, `${prefix}-h2`];
  const labEnv = { ...process.env, XF_NS_A: internet, XF_NS_B: r2, XF_DEV: DEV, XF_STATE: state };
  const { ns, link: veth, masquerade, destroy: removeNamespaces } = namespaceBuilder(prefix);
  let labUp = false;
  const destroy = () => {
    removeNamespaces();
    // netem-lab also ends whatever still runs inside its two namespaces (the relay).
    if (labUp) spawnSync(LAB, ["down"], { env: labEnv, stdio: "inherit" });
    labUp = false;
  };
  try {
    labUp = true;
    sh([LAB, "up", "--delay", link.delay, "--loss", link.loss, "--rate", link.rate], undefined, labEnv);
    sh(["ip", "netns", "exec", internet, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    ns(r1);
    ns(h1);
    ns(h2);
    veth(internet, "to-r1", "100.64.1.1/24", r1, "wan", "100.64.1.2/24");
    veth(r1, "lan", "10.1.0.1/24", h1, "eth0", "10.1.0.2/24");
    veth(r2, "lan", "10.2.0.1/24", h2, "eth0", "10.2.0.2/24");
    sh(["ip", "-n", r1, "route", "add", "default", "via", "100.64.1.1"]);
    sh(["ip", "-n", r2, "route", "add", "default", "via", "10.77.0.1"]);
    sh(["ip", "-n", h1, "route", "add", "default", "via", "10.1.0.1"]);
    sh(["ip", "-n", h2, "route", "add", "default", "via", "10.2.0.1"]);
    masquerade(r1, "wan");
    masquerade(r2, DEV);
    return {
      internet,
      relayAddress: "10.77.0.1",
      homes: [
        { host: h1, address: "10.1.0.2", publicAddress: "100.64.1.2" },
        { host: h2, address: "10.2.0.2", publicAddress: "10.77.0.2" },
      ],
      exec: (n) => ["ip", "netns", "exec", n],
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
