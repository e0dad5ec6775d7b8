// CRDs, the operator (Ready and leading), SGX nodes, clock skew and CAS state (pure).
import type { V1Deployment, V1Node, V1Pod } from "@kubernetes/client-node";
import { SGX_CAPABLE_LABEL, SGX_ENCLAVE_RESOURCE } from "../../../resources/defaults.ts";
import { type CrdVersion, parseVersion } from "../../versions/skew.ts";
import { type Finding, fail, isPodReady, ok, timeMs, warn } from "../finding.ts";

function older(a: string | undefined, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return false;
  return (x.major - y.major || x.minor - y.minor || x.patch - y.patch) < 0;
}

export function crdFindings(crds: readonly CrdVersion[], clientVersion: string): Finding[] {
  return crds.map((c) => {
    const check = `crd ${c.name}`;
    if (!c.installed)
      return fail(
        check,
        "not installed",
        "scone operator install --reconcile (or scone manifests crds | kubectl apply --server-side -f -)",
      );
    if (!c.served.includes(c.expected))
      return fail(
        check,
        `serves ${c.served.join(", ") || "no version"}, not ${c.expected}`,
        "scone operator install --reconcile updates the CRDs",
      );
    // As `scone version` judges it: only CRDs of an older scone may lack what this one renders.
    if (older(c.installedBy, clientVersion))
      return warn(
        check,
        `installed by scone ${c.installedBy}, older than this client (${clientVersion})`,
        "scone operator install --reconcile --update with this scone",
      );
    return ok(check, `serves ${c.expected}`);
  });
}

export interface LeaseView {
  readonly spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

export function operatorFindings(o: {
  namespace: string;
  deployment: V1Deployment | undefined;
  pods: readonly V1Pod[];
  lease: LeaseView | undefined;
  now: Date;
}): Finding[] {
  const { namespace, deployment, now } = o;
  if (!deployment)
    return [
      fail(
        "operator",
        `no operator Deployment in namespace ${namespace}`,
        `scone operator install --reconcile -n ${namespace} (or pass -n with the operator's namespace)`,
      ),
    ];
  const name = deployment.metadata?.name ?? "";
  const want = deployment.spec?.replicas ?? 1;
  const ready = o.pods.filter(isPodReady);
  const out: Finding[] = [];
  if (ready.length === 0) {
    const waiting = o.pods
      .flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.state?.waiting ?? c.state?.terminated))
      .map((s) => (s ? `${s.reason ?? ""}${s.message ? `: ${s.message}` : ""}` : ""))
      .find((s) => s !== "");
    out.push(
      fail(
        "operator ready",
        `${namespace}/${name}: no Ready pod (0/${want})${waiting ? `; ${waiting}` : ""}`,
        `kubectl -n ${namespace} describe pods -l control-plane=controller-manager; kubectl -n ${namespace} logs deployment/${name}`,
      ),
    );
  } else if (ready.length < want)
    out.push(
      warn(
        "operator ready",
        `${namespace}/${name}: ${ready.length}/${want} pods Ready`,
        `kubectl -n ${namespace} describe pods -l control-plane=controller-manager`,
      ),
    );
  else out.push(ok("operator ready", `${namespace}/${name}: ${ready.length}/${want} pods Ready`));

  const elects = (deployment.spec?.template?.spec?.containers ?? []).some((c) =>
    (c.args ?? []).includes("--leader-elect"),
  );
  const holder = o.lease?.spec?.holderIdentity ?? "";
  const renewed = timeMs(o.lease?.spec?.renewTime);
  const duration = (o.lease?.spec?.leaseDurationSeconds ?? 15) * 1000;
  if (!o.lease || !holder) {
    out.push(
      elects
        ? fail(
            "operator leading",
            "no replica holds the leader Lease: the controllers do not run",
            `kubectl -n ${namespace} logs deployment/${name} (look for "waiting for leadership")`,
          )
        : ok("operator leading", "leader election off (one replica runs the controllers)"),
    );
    return out;
  }
  if (renewed === undefined || now.getTime() - renewed > duration * 2) {
    out.push(
      fail(
        "operator leading",
        `the leader Lease of ${holder} was last renewed ${renewed ? `${Math.round((now.getTime() - renewed) / 1000)}s ago` : "never"}: the leader is gone or stuck`,
        `kubectl -n ${namespace} logs deployment/${name}; a new leader takes over after ${duration / 1000}s`,
      ),
    );
    return out;
  }
  // The identity is HOSTNAME_uuid and the hostname is the pod's name.
  const leader = ready.find((p) => holder.startsWith(`${p.metadata?.name}_`));
  out.push(
    leader
      ? ok("operator leading", `pod ${leader.metadata?.name} leads`)
      : warn(
          "operator leading",
          `the Lease is held by ${holder}, not by a Ready pod of ${name} (another operator, or one outside the cluster)`,
          `look for another scone operator using namespace ${namespace}`,
        ),
  );
  return out;
}

const allocatable = (n: V1Node): number => {
  const v = n.status?.allocatable?.[SGX_ENCLAVE_RESOURCE];
  const num = v === undefined ? 0 : Number.parseInt(v, 10);
  return Number.isNaN(num) ? 0 : num;
};

export function sgxNodeFindings(nodes: readonly V1Node[]): Finding[] {
  const out: Finding[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? "";
    const labelled = n.metadata?.labels?.[SGX_CAPABLE_LABEL] === "true";
    const count = allocatable(n);
    if (labelled && count <= 0)
      out.push(
        fail(
          `sgx node ${name}`,
          `labelled ${SGX_CAPABLE_LABEL}=true but does not advertise ${SGX_ENCLAVE_RESOURCE}: no SGX pod can be scheduled there`,
          `check the SGX device plugin pod on ${name} (kubectl get pods -A -o wide --field-selector spec.nodeName=${name}) and that /dev/sgx_enclave exists on the host; kubectl get sgxplugin`,
        ),
      );
    else if (!labelled && count > 0)
      out.push(
        warn(
          `sgx node ${name}`,
          `advertises ${count} ${SGX_ENCLAVE_RESOURCE} but is not labelled ${SGX_CAPABLE_LABEL}=true`,
          `kubectl label node ${name} ${SGX_CAPABLE_LABEL}=true (the SGX plugin sets it)`,
        ),
      );
    else if (labelled) out.push(ok(`sgx node ${name}`, `advertises ${count} ${SGX_ENCLAVE_RESOURCE}`));
  }
  if (out.length === 0)
    out.push(
      fail(
        "sgx nodes",
        `no node is labelled ${SGX_CAPABLE_LABEL}=true or advertises ${SGX_ENCLAVE_RESOURCE}: CAS and LAS cannot run`,
        "install the SGX device plugin (scone operator install --reconcile) on nodes with SGX enabled in the BIOS",
      ),
    );
  return out;
}

/** A node Lease (kube-node-lease), the kubelet's heartbeat. */
export interface NodeHeartbeat {
  readonly node: string;
  readonly renewTime?: string;
  readonly leaseDurationSeconds?: number;
  readonly ready: boolean;
}

/** More ahead than this and certificates a node issues are "not yet valid" elsewhere. */
export const CLOCK_AHEAD_MS = 30_000;

export function clockFindings(beats: readonly NodeHeartbeat[], now: Date): Finding[] {
  const out: Finding[] = [];
  for (const b of beats) {
    const at = timeMs(b.renewTime);
    if (at === undefined) continue;
    const delta = at - now.getTime();
    const check = `clock ${b.node}`;
    const duration = (b.leaseDurationSeconds ?? 40) * 1000;
    if (delta > CLOCK_AHEAD_MS)
      out.push(
        fail(
          check,
          `the node's last heartbeat is ${Math.round(delta / 1000)}s in the future of this machine's clock: one of the two clocks is wrong`,
          "synchronise both clocks (chrony/NTP); TLS and attestation reject certificates that are not yet valid",
        ),
      );
    else if (b.ready && -delta > duration * 3)
      out.push(
        warn(
          check,
          `the node is Ready but its last heartbeat is ${Math.round(-delta / 1000)}s old by this machine's clock: the node's clock is behind, or this machine's ahead`,
          "synchronise both clocks (chrony/NTP)",
        ),
      );
  }
  if (out.length === 0 && beats.some((b) => timeMs(b.renewTime) !== undefined))
    out.push(
      ok("clock", `${beats.length} node heartbeats agree with this machine's clock within ${CLOCK_AHEAD_MS / 1000}s`),
    );
  return out;
}

export interface CasView {
  readonly metadata?: { name?: string; namespace?: string };
  readonly status?: {
    state?: string;
    phase?: string;
    conditions?: readonly { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export function casFindings(cases: readonly CasView[]): Finding[] {
  if (cases.length === 0) return [ok("cas", "no CAS in the cluster")];
  return cases.map((c) => {
    const id = `${c.metadata?.namespace}/${c.metadata?.name}`;
    const check = `cas ${id}`;
    const s = c.status;
    const phase = s?.phase ? ` (phase ${s.phase})` : "";
    if (s?.state === "HEALTHY") return ok(check, `HEALTHY${phase}`);
    const why = (s?.conditions ?? []).find((k) => k.status !== "True" && (k.reason || k.message));
    const reason = why ? `: ${why.type} ${why.reason ?? ""}${why.message ? ` — ${why.message}` : ""}` : "";
    const fix = `scone cas status ${c.metadata?.name} -n ${c.metadata?.namespace}; kubectl -n ${c.metadata?.namespace} describe cas ${c.metadata?.name}`;
    if (!s?.state) return warn(check, "no state yet: the operator has not reconciled it", fix);
    return fail(check, `${s.state}${phase}${reason}`, fix);
  });
}
