// What a reinstall takes away (pure): objects an install with more optional parts made (--with-api, --metrics-secure,
// --monitoring) that this install does not render. Found and ours, they are deleted, as helm removes a part that
// is switched off: above all the TokenReview/SubjectAccessReview rights, which only those servers need, must not
// outlive them.
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { renderOperatorObjects } from "./desired.ts";
import type { InstallFlowOptions } from "./options.ts";
import { refKey, refOfObject } from "./plan.ts";

// `serviceOnly`: a part of the operator Deployment's install. An install with --local-operator leaves those alone,
// like the Deployment itself (planAgainstCluster warns about it): the user may go back to it.
const OPTIONAL_PARTS = [
  { key: "withApi", flag: "--with-api", serviceOnly: true },
  { key: "metricsSecure", flag: "--metrics-secure", serviceOnly: true },
  { key: "monitoring", flag: "--monitoring", serviceOnly: false },
] as const;

export interface WithdrawnObject {
  readonly ref: ObjectRef;
  /** Why it goes, for the plan: the flags that install it, none of them given now. */
  readonly reason: string;
}

/**
 * Objects of the optional parts this install leaves off (`desired`: what it renders); namespaces and claims (they
 * hold data) are never here.
 */
export function withdrawnObjects(o: InstallFlowOptions, desired: readonly KubeObject[]): WithdrawnObject[] {
  const rendered = new Set(desired.map((x) => refKey(refOfObject(x))));
  const flagsOf = new Map<string, { ref: ObjectRef; flags: string[] }>();
  for (const part of OPTIONAL_PARTS) {
    if (o[part.key] || (part.serviceOnly && o.localOperator)) continue;
    for (const object of renderOperatorObjects({ ...o, [part.key]: true })) {
      if (!isWithdrawable(object)) continue;
      const ref = refOfObject(object);
      const key = refKey(ref);
      if (rendered.has(key)) continue;
      const entry = flagsOf.get(key) ?? { ref, flags: [] };
      entry.flags.push(part.flag);
      flagsOf.set(key, entry);
    }
  }
  return [...flagsOf.values()].map(({ ref, flags }) => ({
    ref,
    reason: `installed only with ${flags.join(" or ")}, not given now: removed`,
  }));
}

const isWithdrawable = (o: KubeObject) => o.kind !== "Namespace" && o.kind !== "PersistentVolumeClaim";
