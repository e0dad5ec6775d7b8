// Fields several SCONE kinds share (same type and constraints in each upstream CRD).

import { bool, enumStr, int, type Schema } from "./schema.ts";

export const SERVICE_STATES = ["HEALTHY", "PENDING", "UNHEALTHY"] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export const serviceState = (what: string) =>
  enumStr(SERVICE_STATES, {
    description: `The state of the ${what}: HEALTHY (no problem detected), PENDING (not yet healthy, expected to become healthy without intervention) or UNHEALTHY (a problem was detected).`,
  });

export const PULL_POLICIES = ["Always", "Never", "IfNotPresent"] as const;

export const pullPolicyEnum = (description: string, defaultValue?: (typeof PULL_POLICIES)[number]) =>
  enumStr(PULL_POLICIES, { description, ...(defaultValue !== undefined && { default: defaultValue }) });

export const autoUpdate = (what: string, note = "") =>
  bool({
    description: `If true, the operator checks the registry periodically for image digest changes and rolls the ${what} pods. DEFAULT: false.${note}`,
  });

export const reinstallOnFatal = (): Schema<boolean> =>
  bool({
    description:
      "If true, the operator reinstalls the service to recover from errors it considers fatal (this interrupts the service). DEFAULT: false.",
  });

/** A counter where -1 means "could not be calculated". */
export const counter = (description: string, format?: "int32") =>
  int({
    minimum: -1,
    ...(format !== undefined && { format }),
    description: `${description} The value -1 means it could not be calculated.`,
  });
