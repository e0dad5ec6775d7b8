// What a tenant resource may make the operator run (pure; the validating webhook and the controllers both call
// policyIssues, so a resource created while the webhook was down is held back the same way it would be refused).
//
// Tenant kinds are the namespaced ones, CAS and Vault: whoever may write them in a namespace must not get more
// rights than that namespace gives. Checked there:
// - every image the operator runs for them comes from a registry the cluster admin allows (operator setting
//   --allowed-registries, default the SCONE registry; the operator's own --image-registry mirror always passes):
//   CAS spec.image, spec.backup-controller.image, spec.safetyService.image, the BACKUP_CAS_IMAGE the backup
//   controller starts (spec.backup-controller.env), Vault spec.server.image.repository and
//   spec.server.extraInitContainers[].image. Only images the resource names are checked: the defaults are the
//   admin's own choice.
// - rights a pod gets only if the namespace carries an allowance label. Namespaces are cluster-scoped, so a tenant
//   with rights inside a namespace cannot label it; only a cluster admin can:
//     scone.cloud/allow-privileged: "true"   privileged: true, Windows hostProcess, procMount Unmasked, seccomp
//                                            or AppArmor Unconfined, and capabilities.add beyond the runtime's
//                                            defaults (Pod Security "baseline") and the operator's own default
//                                            (SYS_RAWIO for CAS)
//     scone.cloud/allow-host-ports: "true"   containers[].ports[].hostPort (Vault init containers)
//     scone.cloud/allow-tolerate-all: "true" a toleration with operator Exists and no key: it tolerates every
//                                            taint, so the pod lands on control-plane and dedicated nodes
// Host paths, hostNetwork, hostPID and hostIPC have no field in the CAS or Vault schema (the operator renders only
// emptyDir, ConfigMap and PVC volumes for them; the API server drops or, with kubectl's strict field validation,
// refuses unknown fields), so there is no allowance for them. allowPrivilegeEscalation is not gated: Pod Security
// "baseline" allows it and it is Kubernetes' default when unset.
//
// Vault has no webhook (upstream has none): its controller alone applies the policy. A controller re-checks on every
// reconcile; revoking an allowance stops further applies, but what already runs keeps its rights until the spec is
// fixed or the admin removes it.
//
// LAS and SGXPlugin are not tenant resources: they are cluster-scoped, so only a cluster admin can create them
// (the installer does), and as node agents they legitimately need node access (the SGX plugin's /dev and kubelet
// device-plugin hostPaths are rendered by the operator, not taken from the spec). Their fields are the admin's
// choice and are not checked here.
import type { ValidationIssue } from "../../resources/validation.ts";
import { type ImageSource, imageRefusal, resolveAllowedRegistries } from "./registries.ts";

export const ALLOW_PRIVILEGED_LABEL = "scone.cloud/allow-privileged";
export const ALLOW_HOST_PORTS_LABEL = "scone.cloud/allow-host-ports";
export const ALLOW_TOLERATE_ALL_LABEL = "scone.cloud/allow-tolerate-all";

export type Allowance = typeof ALLOW_PRIVILEGED_LABEL | typeof ALLOW_HOST_PORTS_LABEL | typeof ALLOW_TOLERATE_ALL_LABEL;

/** The kinds whose objects tenants write (namespaced). */
export const TENANT_KINDS: ReadonlySet<string> = new Set(["CAS", "Vault"]);

export interface AdmissionPolicy {
  readonly allowedRegistries: readonly ImageSource[];
}

/** The policy without an admin list: the SCONE registry and the operator's image repository (`imageRepo`). */
export const defaultAdmissionPolicy = (imageRepo?: string): AdmissionPolicy => ({
  allowedRegistries: resolveAllowedRegistries(undefined, imageRepo),
});

/** A right a resource asks for, at a field. */
export interface RequestedRight {
  readonly field: string;
  readonly allowance: Allowance;
  readonly what: string;
}

/** Capabilities the container runtime grants by default (Pod Security "baseline" lets any pod add them back). */
const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const objAt = (o: unknown, key: string): Obj | undefined => (isObject(o) && isObject(o[key]) ? o[key] : undefined);
const listAt = (o: unknown, key: string): unknown[] => (isObject(o) && Array.isArray(o[key]) ? o[key] : []);
const strAt = (o: unknown, key: string): string | undefined =>
  isObject(o) && typeof o[key] === "string" ? o[key] : undefined;

const normalCapability = (c: string): string => c.toUpperCase().replace(/^CAP_/, "");

const privileged = (field: string, what: string): RequestedRight => ({
  field,
  allowance: ALLOW_PRIVILEGED_LABEL,
  what,
});

/** Settings a pod and a container securityContext share: host process, unconfined seccomp and AppArmor. */
function sharedRights(sc: Obj, field: string): RequestedRight[] {
  const out: RequestedRight[] = [];
  if (objAt(sc, "windowsOptions")?.hostProcess === true)
    out.push(privileged(`${field}.windowsOptions.hostProcess`, "a Windows host process"));
  for (const profile of ["seccompProfile", "appArmorProfile"])
    if (strAt(objAt(sc, profile), "type") === "Unconfined")
      out.push(privileged(`${field}.${profile}.type`, `an unconfined ${profile.replace("Profile", "")} profile`));
  return out;
}

/** Rights asked for by a container securityContext at `field`; `defaults` are capabilities the operator adds itself. */
function containerRights(sc: unknown, field: string, defaults: readonly string[] = []): RequestedRight[] {
  if (!isObject(sc)) return [];
  const out = sharedRights(sc, field);
  if (sc.privileged === true) out.push(privileged(`${field}.privileged`, "a privileged container"));
  if (sc.procMount === "Unmasked") out.push(privileged(`${field}.procMount`, "an unmasked /proc"));
  const ok = new Set([...BASELINE_CAPABILITIES, ...defaults]);
  listAt(objAt(sc, "capabilities"), "add").forEach((c, i) => {
    if (typeof c === "string" && !ok.has(normalCapability(c)))
      out.push(privileged(`${field}.capabilities.add[${i}]`, `the capability ${c}`));
  });
  return out;
}

function podRights(psc: unknown, field: string): RequestedRight[] {
  return isObject(psc) ? sharedRights(psc, field) : [];
}

function tolerationRights(list: unknown, field: string): RequestedRight[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((t, i) =>
    isObject(t) && t.operator === "Exists" && (t.key === undefined || t.key === "")
      ? [{ field: `${field}[${i}]`, allowance: ALLOW_TOLERATE_ALL_LABEL, what: "a toleration of every taint" }]
      : [],
  );
}

function portRights(container: unknown, field: string): RequestedRight[] {
  return listAt(container, "ports").flatMap((p, i) =>
    isObject(p) && typeof p.hostPort === "number" && p.hostPort !== 0
      ? [{ field: `${field}.ports[${i}].hostPort`, allowance: ALLOW_HOST_PORTS_LABEL, what: "a port on the node" }]
      : [],
  );
}

/** The CAS container runs with SYS_RAWIO by default (render.ts); asking for it explicitly asks for nothing more. */
const CAS_DEFAULT_CAPABILITIES = ["SYS_RAWIO"];

/** Every right the resource asks for that needs an allowance (empty for kinds that are not tenant kinds). */
export function requestedRights(kind: string, object: unknown): RequestedRight[] {
  const spec = objAt(object, "spec");
  if (!spec) return [];
  if (kind === "CAS") {
    const bc = objAt(spec, "backup-controller");
    const ss = objAt(spec, "safetyService");
    return [
      ...containerRights(
        spec.containerSecurityContextCAS,
        "spec.containerSecurityContextCAS",
        CAS_DEFAULT_CAPABILITIES,
      ),
      ...containerRights(spec.containerSecurityContextAudit, "spec.containerSecurityContextAudit"),
      ...containerRights(bc?.containerSecurityContext, "spec.backup-controller.containerSecurityContext"),
      ...containerRights(ss?.containerSecurityContext, "spec.safetyService.containerSecurityContext"),
      ...podRights(spec.podSecurityContext, "spec.podSecurityContext"),
      ...podRights(bc?.podSecurityContext, "spec.backup-controller.podSecurityContext"),
      ...podRights(ss?.podSecurityContext, "spec.safetyService.podSecurityContext"),
      ...tolerationRights(spec.tolerations, "spec.tolerations"),
      ...tolerationRights(bc?.tolerations, "spec.backup-controller.tolerations"),
      ...tolerationRights(ss?.tolerations, "spec.safetyService.tolerations"),
    ];
  }
  if (kind === "Vault") {
    return listAt(objAt(spec, "server"), "extraInitContainers").flatMap((c, i) => {
      const field = `spec.server.extraInitContainers[${i}]`;
      return [...containerRights(objAt(c, "securityContext"), `${field}.securityContext`), ...portRights(c, field)];
    });
  }
  return [];
}

/** The images the resource names, by field (defaults left out: they are the operator's). */
export function namedImages(kind: string, object: unknown): { field: string; image: string }[] {
  const spec = objAt(object, "spec");
  if (!spec) return [];
  const out: { field: string; image: string }[] = [];
  const add = (field: string, image: string | undefined) => {
    if (image !== undefined && image !== "") out.push({ field, image });
  };
  if (kind === "CAS") {
    const bc = objAt(spec, "backup-controller");
    add("spec.image", strAt(spec, "image"));
    add("spec.backup-controller.image", strAt(bc, "image"));
    add("spec.safetyService.image", strAt(objAt(spec, "safetyService"), "image"));
    // The backup controller starts backup CAS pods from BACKUP_CAS_IMAGE; the spec may override that variable.
    listAt(bc, "env").forEach((e, i) => {
      if (strAt(e, "name") === "BACKUP_CAS_IMAGE")
        add(`spec.backup-controller.env[${i}].value`, strAt(e, "value") ?? "");
    });
  }
  if (kind === "Vault") {
    const server = objAt(spec, "server");
    add("spec.server.image.repository", strAt(objAt(server, "image"), "repository"));
    listAt(server, "extraInitContainers").forEach((c, i) => {
      add(`spec.server.extraInitContainers[${i}].image`, strAt(c, "image"));
    });
  }
  return out;
}

/** BACKUP_CAS_IMAGE from a ConfigMap or Secret could not be checked: it must be written out. */
function unverifiableImages(kind: string, object: unknown): ValidationIssue[] {
  if (kind !== "CAS") return [];
  return listAt(objAt(objAt(object, "spec"), "backup-controller"), "env").flatMap((e, i) =>
    strAt(e, "name") === "BACKUP_CAS_IMAGE" && objAt(e, "valueFrom")
      ? [
          {
            field: `spec.backup-controller.env[${i}].valueFrom`,
            message:
              "BACKUP_CAS_IMAGE must be given as value, not valueFrom: the operator checks the image's registry; or leave it out to get spec.image",
          },
        ]
      : [],
  );
}

const allowed = (labels: Readonly<Record<string, string>> | undefined, a: Allowance) => labels?.[a] === "true";

/**
 * Everything the policy refuses in `object` (a resource of `kind` in a namespace with `namespaceLabels`), each
 * naming its field and the fix. Empty for kinds that are not tenant kinds.
 */
export function policyIssues(
  kind: string,
  object: unknown,
  policy: AdmissionPolicy,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): ValidationIssue[] {
  if (!TENANT_KINDS.has(kind)) return [];
  const namespace = strAt(objAt(object, "metadata"), "namespace") ?? "NAMESPACE";
  const images = namedImages(kind, object).flatMap(({ field, image }) => {
    const why = imageRefusal(image, policy.allowedRegistries);
    return why ? [{ field, message: why }] : [];
  });
  const rights = requestedRights(kind, object)
    .filter((r) => !allowed(namespaceLabels, r.allowance))
    .map((r) => ({
      field: r.field,
      message: `${r.what} is not allowed in namespace ${namespace}: remove it, or a cluster admin allows it with 'kubectl label namespace ${namespace} ${r.allowance}=true'`,
    }));
  return [...images, ...unverifiableImages(kind, object), ...rights];
}
