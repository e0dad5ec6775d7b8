// The admission policy (src/operator/admission): allowed registries, the rights tenant resources ask for and the
// namespace allowances that grant them, and how the validating webhook and its dispatcher apply it.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  type AdmissionPolicy,
  ALLOW_HOST_PORTS_LABEL,
  ALLOW_PRIVILEGED_LABEL,
  ALLOW_TOLERATE_ALL_LABEL,
  policyIssues,
  requestedRights,
} from "../../../../src/operator/admission/policy.ts";
import {
  formatEntry,
  imageRefusal,
  imageSource,
  parseAllowedRegistries,
  resolveAllowedRegistries,
} from "../../../../src/operator/admission/registries.ts";
import type { AdmissionReview } from "../../../../src/operator/webhooks/admission.ts";
import { admissionDispatcher } from "../../../../src/operator/webhooks/dispatch.ts";
import { VALIDATING_ENDPOINTS } from "../../../../src/operator/webhooks/endpoints.ts";
import { UPSTREAM_SAMPLES_DIR } from "../../../harness/upstream-samples.ts";

const DEFAULT_POLICY: AdmissionPolicy = { allowedRegistries: resolveAllowedRegistries(undefined, undefined) };
const cas = (spec: Record<string, unknown>, namespace = "team-a") => ({
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: { name: "c", namespace },
  spec,
});
const fields = (kind: string, o: unknown, labels?: Record<string, string>, policy = DEFAULT_POLICY) =>
  policyIssues(kind, o, policy, labels).map((i) => i.field);

describe("allowed registries", () => {
  test("image references resolve to their registry host by Docker's rule", () => {
    expect(imageSource("registry.scontain.com/scone.cloud/cas:6.0.6")).toEqual({
      host: "registry.scontain.com",
      path: "scone.cloud/cas",
    });
    expect(imageSource("Mirror.Local:5000/scone/las@sha256:abc")).toEqual({
      host: "mirror.local:5000",
      path: "scone/las",
    });
    expect(imageSource("busybox:1")).toEqual({ host: "docker.io", path: "busybox" });
    expect(imageSource("myorg/cas")).toEqual({ host: "docker.io", path: "myorg/cas" });
    expect(imageSource("localhost/cas")).toEqual({ host: "localhost", path: "cas" });
    expect("error" in imageSource("registry.scontain.com/Bad Name")).toBe(true);
    expect("error" in imageSource("")).toBe(true);
  });

  test("the default allows the SCONE registry and the operator's own image repository", () => {
    const allowed = resolveAllowedRegistries(undefined, "mirror.local:5000/scone");
    expect(imageRefusal("registry.scontain.com/scone.cloud/cas:6.0.6", allowed)).toBeUndefined();
    expect(imageRefusal("registry.scontain.com/sconecuratedimages/x:1", allowed)).toBeUndefined();
    expect(imageRefusal("mirror.local:5000/scone/cas:6.0.6", allowed)).toBeUndefined();
    // A path prefix is a prefix of whole components; hosts are compared whole.
    expect(imageRefusal("mirror.local:5000/scone-evil/cas:1", allowed)).toContain("does not allow");
    expect(imageRefusal("mirror.local:5000/cas:1", allowed)).toContain("does not allow");
    expect(imageRefusal("registry.scontain.com.evil.io/scone.cloud/cas:1", allowed)).toContain("does not allow");
    expect(imageRefusal("registry.scontain.com:444/scone.cloud/cas:1", allowed)).toContain("does not allow");
    expect(imageRefusal("evil.io/cas:1", allowed)).toContain("allowed: registry.scontain.com, mirror.local:5000/scone");
    expect(imageRefusal("cas:1", allowed)).toContain("Docker Hub");
    // The default repository lies below the SCONE registry: listed once.
    expect(resolveAllowedRegistries(undefined, undefined).map(formatEntry)).toEqual(["registry.scontain.com"]);
    expect(resolveAllowedRegistries(parseAllowedRegistries("a.io/x,a.io,a.io"), "a.io/x/y").map(formatEntry)).toEqual([
      "a.io",
    ]);
  });

  test("an admin list replaces the SCONE registry; the operator's image repository still passes", () => {
    const allowed = resolveAllowedRegistries(parseAllowedRegistries("mirror.local:5000, quay.io/acme/"), undefined);
    expect(imageRefusal("quay.io/acme/cas:1", allowed)).toBeUndefined();
    expect(imageRefusal("mirror.local:5000/any/cas:1", allowed)).toBeUndefined();
    expect(imageRefusal("registry.scontain.com/scone.cloud/cas:1", allowed)).toBeUndefined();
    expect(imageRefusal("registry.scontain.com/sconecuratedimages/x:1", allowed)).toContain("does not allow");
  });

  test("bad entries are refused naming the flag", () => {
    expect(() => parseAllowedRegistries(" , ")).toThrow("--allowed-registries is empty");
    expect(() => parseAllowedRegistries("registry")).toThrow('--allowed-registries: "registry" is not a registry');
    expect(() => parseAllowedRegistries("evil.io/Up")).toThrow("is not a registry");
  });
});

describe("rights of tenant resources", () => {
  const risky = cas({
    image: "evil.io/cas:1",
    containerSecurityContextCAS: { privileged: true, capabilities: { add: ["SYS_RAWIO", "CAP_SYS_ADMIN"] } },
    tolerations: [{ operator: "Exists" }, { key: "dedicated", operator: "Exists" }],
    "backup-controller": {
      enabled: true,
      session: "p/upgrade",
      image: "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
      env: [{ name: "BACKUP_CAS_IMAGE", value: "evil.io/cas:1" }],
      tolerations: [{ key: "", operator: "Exists", effect: "NoSchedule" }],
    },
    safetyService: {
      enabled: true,
      podAntiAffinityTopologyKey: "kubernetes.io/hostname",
      image: "docker.io/library/busybox",
      podSecurityContext: { windowsOptions: { hostProcess: true } },
    },
    podSecurityContext: { seccompProfile: { type: "Unconfined" } },
    containerSecurityContextAudit: {
      appArmorProfile: { type: "Unconfined" },
      capabilities: { add: ["NET_BIND_SERVICE"] },
    },
  });

  test("every disallowed image and right is named by its field", () => {
    expect(fields("CAS", risky)).toEqual([
      "spec.image",
      "spec.safetyService.image",
      "spec.backup-controller.env[0].value",
      "spec.containerSecurityContextCAS.privileged",
      "spec.containerSecurityContextCAS.capabilities.add[1]",
      "spec.containerSecurityContextAudit.appArmorProfile.type",
      "spec.podSecurityContext.seccompProfile.type",
      "spec.safetyService.podSecurityContext.windowsOptions.hostProcess",
      "spec.tolerations[0]",
      "spec.backup-controller.tolerations[0]",
    ]);
  });

  test("the message says how to fix it: which label the admin sets", () => {
    const issues = policyIssues("CAS", risky, DEFAULT_POLICY, {});
    const tolerate = issues.find((i) => i.field === "spec.tolerations[0]");
    expect(tolerate?.message).toBe(
      "a toleration of every taint is not allowed in namespace team-a: remove it, or a cluster admin allows it with 'kubectl label namespace team-a scone.cloud/allow-tolerate-all=true'",
    );
  });

  test("the namespace's allowance labels grant exactly their rights; registries are not granted by labels", () => {
    expect(fields("CAS", risky, { [ALLOW_PRIVILEGED_LABEL]: "true", [ALLOW_TOLERATE_ALL_LABEL]: "true" })).toEqual([
      "spec.image",
      "spec.safetyService.image",
      "spec.backup-controller.env[0].value",
    ]);
    expect(fields("CAS", risky, { [ALLOW_PRIVILEGED_LABEL]: "yes" })).toContain(
      "spec.containerSecurityContextCAS.privileged",
    );
  });

  test("the operator's own defaults, spelled out, ask for nothing", () => {
    const spelled = cas({
      image: "registry.scontain.com/scone.cloud/cas:6.0.6",
      containerSecurityContextCAS: {
        allowPrivilegeEscalation: false,
        capabilities: { add: ["SYS_RAWIO"], drop: ["ALL"] },
      },
      tolerations: [{ key: "sgx", operator: "Exists", effect: "NoSchedule" }],
    });
    expect(fields("CAS", spelled)).toEqual([]);
    // SYS_RAWIO is the CAS container's default only.
    expect(fields("CAS", cas({ containerSecurityContextAudit: { capabilities: { add: ["SYS_RAWIO"] } } }))).toEqual([
      "spec.containerSecurityContextAudit.capabilities.add[0]",
    ]);
  });

  test("BACKUP_CAS_IMAGE from a ConfigMap cannot be checked and is refused", () => {
    const o = cas({
      "backup-controller": {
        env: [{ name: "BACKUP_CAS_IMAGE", valueFrom: { configMapKeyRef: { name: "x", key: "y" } } }],
      },
    });
    expect(fields("CAS", o)).toEqual(["spec.backup-controller.env[0].valueFrom"]);
  });

  test("Vault: the server image, init container images, privileges and host ports", () => {
    const vault = {
      metadata: { name: "v", namespace: "team-a" },
      spec: {
        server: {
          image: { repository: "evil.io/vault", tag: "1" },
          extraInitContainers: [
            {
              name: "init",
              image: "evil.io/init:1",
              securityContext: { privileged: true },
              ports: [{ containerPort: 80, hostPort: 80 }],
            },
          ],
        },
      },
    };
    expect(fields("Vault", vault)).toEqual([
      "spec.server.image.repository",
      "spec.server.extraInitContainers[0].image",
      "spec.server.extraInitContainers[0].securityContext.privileged",
      "spec.server.extraInitContainers[0].ports[0].hostPort",
    ]);
    expect(requestedRights("Vault", vault).map((r) => r.allowance)).toEqual([
      ALLOW_PRIVILEGED_LABEL,
      ALLOW_HOST_PORTS_LABEL,
    ]);
  });

  test("LAS and SGXPlugin are cluster-scoped admin resources: not checked", () => {
    const las = { metadata: { name: "las" }, spec: { image: "evil.io/las", tolerations: [{ operator: "Exists" }] } };
    expect(fields("LAS", las)).toEqual([]);
    expect(fields("SGXPlugin", las)).toEqual([]);
  });
});

describe("upstream samples", () => {
  // The provisioning tool fills the templates with the SCONE registry (or the mirror the operator also uses).
  const fill = (text: string) =>
    text
      .replaceAll(/\$\{?IMAGE_REPO\}?/g, "registry.scontain.com/scone.cloud")
      .replaceAll(/\$\{?IMAGE_PREFIX\}?/g, "")
      .replaceAll(/\$\{?IMAGE\}?/g, "registry.scontain.com/scone.cloud/cas:6.0.6")
      .replaceAll(/\$\{?VAULT_IMAGE_REPO\}?/g, "registry.scontain.com/scone.cloud/vault")
      .replaceAll(/\$\{?NAMESPACE\}?/g, "team-a");
  const dirs = ["operator-samples", "manifests-6.0.6"].map((d) => join(UPSTREAM_SAMPLES_DIR, d));
  const docs = dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) =>
        parseAllDocuments(fill(readFileSync(join(dir, f), "utf8"))).map((d) => ({
          file: f,
          o: d.toJS() as { kind?: string } | null,
        })),
      ),
  );

  test("every sample passes the default policy in a namespace without allowances", () => {
    const tenant = docs.filter((d) => d.o?.kind === "CAS" || d.o?.kind === "Vault");
    expect(tenant.length).toBeGreaterThanOrEqual(4);
    for (const { file, o } of tenant) expect({ file, issues: fields(o?.kind ?? "", o) }).toEqual({ file, issues: [] });
  });
});

describe("the validating webhook", () => {
  const endpoint = VALIDATING_ENDPOINTS.find((e) => e.kind === "CAS");
  const reviewOf = (object: unknown): AdmissionReview => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u",
      kind: { group: "services.scone.cloud", version: "v1beta1", kind: "CAS" },
      resource: { group: "services.scone.cloud", version: "v1beta1", resource: "cas" },
      name: "c",
      namespace: "team-a",
      operation: "CREATE",
      object,
    },
  });
  const dispatcher = (labels: Record<string, string>, reads: string[]) =>
    admissionDispatcher({
      defaults: {},
      policy: DEFAULT_POLICY,
      listExisting: async () => [],
      namespaceLabels: async (ns) => {
        reads.push(ns);
        return labels;
      },
    });

  test("refuses a privileged CAS naming the field and the label; reads the namespace only then", async () => {
    if (!endpoint) throw new Error("no CAS endpoint");
    const reads: string[] = [];
    const handle = dispatcher({}, reads);
    const plain = await handle(endpoint, reviewOf(cas({})));
    expect(plain.response?.allowed).toBe(true);
    expect(reads).toEqual([]);
    const priv = await handle(endpoint, reviewOf(cas({ containerSecurityContextCAS: { privileged: true } })));
    expect(priv.response?.allowed).toBe(false);
    expect(priv.response?.status?.message).toContain(
      "spec.containerSecurityContextCAS.privileged: a privileged container is not allowed in namespace team-a",
    );
    expect(priv.response?.status?.message).toContain("scone.cloud/allow-privileged=true");
    expect(reads).toEqual(["team-a"]);
  });

  test("admits the same CAS in a namespace the admin labelled", async () => {
    if (!endpoint) throw new Error("no CAS endpoint");
    const handle = dispatcher({ [ALLOW_PRIVILEGED_LABEL]: "true" }, []);
    const r = await handle(endpoint, reviewOf(cas({ containerSecurityContextCAS: { privileged: true } })));
    expect(r.response?.allowed).toBe(true);
  });

  test("refuses an image from another registry without reading the namespace", async () => {
    if (!endpoint) throw new Error("no CAS endpoint");
    const reads: string[] = [];
    const r = await dispatcher({}, reads)(endpoint, reviewOf(cas({ image: "evil.io/cas:1" })));
    expect(r.response?.status?.message).toContain('spec.image: image "evil.io/cas:1" is from evil.io');
    expect(reads).toEqual([]);
  });

  test("a metadata-only update (the operator removing its finalizer) passes without a namespace read", async () => {
    if (!endpoint) throw new Error("no CAS endpoint");
    const reads: string[] = [];
    const object = cas({ containerSecurityContextCAS: { privileged: true } });
    const base = reviewOf(object);
    const update: AdmissionReview = {
      ...base,
      ...(base.request
        ? {
            request: {
              ...base.request,
              operation: "UPDATE",
              oldObject: { ...object, metadata: { ...object.metadata, finalizers: ["f"] } },
            },
          }
        : {}),
    };
    const r = await dispatcher({}, reads)(endpoint, update);
    expect(r.response?.allowed).toBe(true);
    expect(reads).toEqual([]);
  });

  test("fails closed when the namespace cannot be read", async () => {
    if (!endpoint) throw new Error("no CAS endpoint");
    const handle = admissionDispatcher({
      defaults: {},
      policy: DEFAULT_POLICY,
      listExisting: async () => [],
      namespaceLabels: async () => {
        throw new Error("namespaces is forbidden");
      },
    });
    const r = await handle(endpoint, reviewOf(cas({ tolerations: [{ operator: "Exists" }] })));
    expect(r.response?.allowed).toBe(false);
    expect(r.response?.status?.message).toContain(
      "metadata.namespace: cannot read the labels of namespace team-a to check its allowances (the operator needs get on namespaces): namespaces is forbidden",
    );
  });
});
