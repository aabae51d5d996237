/**
 * udp-reliable beyond this machine: the pure protocol core (the same Connection and ListenerCore the
 * plugin runs) in the virtual-time simulator of sim/, on links far faster and longer than
 * netlab can emulate. Each case runs `--flows` competing flows through one drop-tail bottleneck of
 * `--capacity` with random loss each way and a buffer of one bandwidth-delay product.
 *
 * Reported per case: efficiency = aggregate goodput / (capacity × (1 − loss)) in the steady state
 * (the last two thirds of the run; whole-run figure beside it), Jain's fairness index over the
 * flows' steady-state goodputs, and RTT inflation = mean smoothed RTT / propagation RTT.
 *
 * Messy paths: `--reorder` (% of packets that skip the delay, netem's sense), `--jitter` (ms of
 * extra delay, uniform) and `--dup` (% duplicated) apply each way on top of the loss.
 *
 * `--seed` runs every case once per seed listed (default 1), a row each and then their mean: one
 * seed's figures move by 10–27 points of efficiency on the messy rows, so a change is judged over several.
 *
 * `--trace` prints, for each case, every flow's controller state once a virtual second (JSON lines on
 * stderr: goodput that second and the sender's stats), which is how the issue 16 fairness causes were found.
 *
 * Usage: bun bench/sim.ts [--capacity 1,10] [--rtt 150,300] [--loss 0.1,1,2] [--flows 1,2,5]
 *        [--reorder 0,1,2] [--jitter 0,5] [--dup 0,1] [--seconds 30] [--datagram 1472] [--seed 1,2,3] [--markdown] [--trace]
 */
import { parseArgs } from "node:util";
import { simulate } from "../sim/network.ts";

const { values } = parseArgs({
  options: {
    capacity: { type: "string", default: "1,10" },
    rtt: { type: "string", default: "150,300" },
    loss: { type: "string", default: "0.1,1,2" },
    flows: { type: "string", default: "1,2,5" },
    reorder: { type: "string", default: "0" },
    jitter: { type: "string", default: "0" },
    dup: { type: "string", default: "0" },
    seconds: { type: "string", default: "30" },
    datagram: { type: "string", default: "1472" },
    seed: { type: "string", default: "1" },
    markdown: { type: "boolean", default: false },
    trace: { type: "boolean", default: false },
  },
});
const list = (s: string) => s.split(",").map(Number);
const seconds = Number(values.seconds);
const datagram = Number(values.datagram);

interface Row {
  seed: number;
  gbit: number;
  rttMs: number;
  lossPct: number;
  reorderPct: number;
  jitterMs: number;
  dupPct: number;
  flows: number;
  efficiency: number;
  wholeRun: number;
  jain: number;
  rttInflation: number;
  retransmitPct: number;
  spuriousLosses: number;
  minRttMs: number;
  wallSeconds: number;
}

function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 0 : (sum * sum) / (xs.length * squares);
}

interface Mess {
  reorderPct: number;
  jitterMs: number;
  dupPct: number;
}

function run(seed: number, gbit: number, rttMs: number, lossPct: number, flowCount: number, mess: Mess): Row {
  const capacity = (gbit * 1e9) / 8;
  const loss = lossPct / 100;
  const bdpPackets = Math.ceil((capacity * rttMs) / 1000 / datagram);
  const link = {
    rateBytesPerSec: capacity,
    delayMs: rttMs / 2,
    loss,
    queuePackets: bdpPackets,
    reorder: mess.reorderPct / 100,
    jitterMs: mess.jitterMs,
    duplicate: mess.dupPct / 100,
  };
  const durationMs = seconds * 1000;
  const started = performance.now();
  const res = simulate({
    seed,
    forward: link,
    backward: link,
    // Flows join 100 ms apart, so none is handed the empty pipe alone for long.
    flows: Array.from({ length: flowCount }, (_, i) => ({ bytes: Number.MAX_SAFE_INTEGER, startMs: i * 100 })),
    // What `--transport-opt max-window=…` gives a user on such a path: room for 2·BDP and more.
    config: {
      maxDatagram: datagram,
      window: { initial: 2 << 20, max: Math.max(256 << 20, 4 * bdpPackets * datagram) },
    },
    verify: false,
    limitMs: durationMs,
    sampleEveryMs: 250,
    sampleStats: values.trace,
  });
  if (values.trace)
    for (const [flow, f] of res.flows.entries())
      for (const [k, s] of f.samples.entries()) {
        const prev = f.samples[k - 4];
        if (k % 4 !== 3 || !prev) continue;
        const goodput = ((s.received - prev.received) * 1000) / (s.t - prev.t);
        console.error(
          JSON.stringify({ case: `${gbit}G ${rttMs}ms ${lossPct}% seed ${seed}`, t: s.t, flow, goodput, ...s.stats }),
        );
      }
  // A flow that failed would only show as low goodput: say so.
  for (const [i, f] of res.flows.entries())
    if (f.clientError || f.serverError)
      console.error(`${gbit} Gbit/s ${rttMs} ms ${lossPct}% flow ${i}: ${f.clientError ?? f.serverError}`);
  const steadyFrom = durationMs / 3;
  const goodputs = res.flows.map((f) => {
    const from = f.samples.find((s) => s.t >= steadyFrom);
    const to = f.samples[f.samples.length - 1];
    if (!from || !to || to.t <= from.t) return 0;
    return ((to.received - from.received) * 1000) / (to.t - from.t);
  });
  const srtts = res.flows.flatMap((f) =>
    f.samples.filter((s) => s.t >= steadyFrom && s.srttMs > 0).map((s) => s.srttMs),
  );
  const meanSrtt = srtts.reduce((a, b) => a + b, 0) / Math.max(1, srtts.length);
  const retransmitted = res.flows.reduce((n, f) => n + Number(f.clientStats.retransmittedBytes ?? 0), 0);
  const sent = res.flows.reduce((n, f) => n + Number(f.clientStats.streamBytesSent ?? 0), 0);
  const wholeRun = res.flows.reduce((n, f) => n + f.received, 0) / (durationMs / 1000);
  const ideal = capacity * (1 - loss);
  return {
    seed,
    gbit,
    rttMs,
    lossPct,
    ...mess,
    flows: flowCount,
    efficiency: goodputs.reduce((a, b) => a + b, 0) / ideal,
    wholeRun: wholeRun / ideal,
    jain: jain(goodputs),
    rttInflation: meanSrtt / rttMs,
    retransmitPct: sent ? (100 * retransmitted) / sent : 0,
    spuriousLosses: res.flows.reduce((n, f) => n + Number(f.clientStats.spuriousLosses ?? 0), 0),
    minRttMs: Number(res.flows[0]?.clientStats.minRttMs ?? 0),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

const rows: Row[] = [];
for (const gbit of list(values.capacity))
  for (const rttMs of list(values.rtt))
    for (const lossPct of list(values.loss))
      for (const reorderPct of list(values.reorder))
        for (const jitterMs of list(values.jitter))
          for (const dupPct of list(values.dup))
            for (const flows of list(values.flows))
              for (const seed of list(values.seed)) {
                const row = run(seed, gbit, rttMs, lossPct, flows, { reorderPct, jitterMs, dupPct });
                rows.push(row);
                if (!values.markdown) console.log(JSON.stringify(row));
              }

if (values.markdown) {
  console.log(
    "| seed | link | RTT | loss each way | reorder / jitter / dup | flows | efficiency (steady) | efficiency (whole run) | Jain | RTT inflation | retransmitted | spurious losses | min RTT |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const seeds = list(values.seed).length;
  const mean = (rs: Row[], f: (r: Row) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  for (const [i, r] of rows.entries()) {
    const caseName = `${r.gbit} Gbit/s | ${r.rttMs} ms | ${r.lossPct}% | ${r.reorderPct}% / ${r.jitterMs} ms / ${r.dupPct}% | ${r.flows}`;
    console.log(
      `| ${r.seed} | ${caseName} | ${(100 * r.efficiency).toFixed(1)}% | ${(100 * r.wholeRun).toFixed(1)}% | ${r.jain.toFixed(3)} | ${r.rttInflation.toFixed(2)}× | ${r.retransmitPct.toFixed(2)}% | ${r.spuriousLosses} | ${r.minRttMs} ms |`,
    );
    // The seeds of one case are consecutive rows: after its last, their mean.
    if (seeds > 1 && i % seeds === seeds - 1) {
      const rs = rows.slice(i + 1 - seeds, i + 1);
      console.log(
        `| **mean** | ${caseName} | **${(100 * mean(rs, (x) => x.efficiency)).toFixed(1)}%** | ${(100 * mean(rs, (x) => x.wholeRun)).toFixed(1)}% | ${mean(rs, (x) => x.jain).toFixed(3)} | ${mean(rs, (x) => x.rttInflation).toFixed(2)}× | ${mean(rs, (x) => x.retransmitPct).toFixed(2)}% | – | – |`,
      );
    }
  }
}
