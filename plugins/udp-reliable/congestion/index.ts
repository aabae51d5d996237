/** Congestion controllers by name (`--transport-opt cc=<name>`). */
import { BbrController } from "./bbr.ts";
import type { CongestionController, ControllerConfig } from "./controller.ts";
import { FixedRateController } from "./fixed-rate.ts";

export const CONTROLLERS: Record<string, (config: ControllerConfig) => CongestionController> = {
  bbr: (c) => new BbrController(c),
  fixed: (c) => new FixedRateController(c),
};

export function createController(name: string, config: ControllerConfig): CongestionController {
  const make = CONTROLLERS[name];
  if (!make) throw new Error(`unknown congestion controller '${name}' (known: ${Object.keys(CONTROLLERS).join(", ")})`);
  return make(config);
}
