// The upstream SCONE samples and provisioning manifests apply unchanged to a real API server with our CRDs,
// the server stores what our applyDefaults() predicts, and invalid resources are refused with the field named —
// the same field our validate() names.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { crdName, renderCrdManifests, renderCrds, UPSTREAM_CRD_TAKEOVER_PATCH } from "../../../src/resources/crds.ts";
import { isSconeKind } from "../../../src/resources/kinds.ts";
import { applyDefaults, validate } from "../../../src/resources/validation.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { UPSTREAM_CRDS_DIR, UPSTREAM_SAMPLES_DIR } from "../../harness/upstream-samples.ts";

const NAMESPACE = "scone-samples";
const FIELD_MANAGER = "scone-resources-test";
const NONCE = "0123456789abcdef0123456789ABCDEF";
/** kubectl arguments: the patch that lets our server-side apply take over the upstream chart's Vault CRD. */
const TAKE_OVER_VAULT_CRD = [
  "patch",
  "crd",
  "vaults.services.scone.cloud",
  "--type=merge",
  "-p",
  JSON.stringify(UPSTREAM_CRD_TAKEOVER_PATCH),
];

/** The values the provisioning tool (envsubst) would fill in. */
const VARS: Record<string, string> = {
  NAME: "cas",
  NAMESPACE,
  IMAGE: "registry.scontain.com/scone.cloud/cas:6.0.6",
  IMAGE_REPO: "registry.scontain.com/scone.cloud",
  IMAGE_PREFIX: "",
  DCAP_KEY: "00000000000000000000000000000000",
  POLICY_NAME: "cas-backup-policy",
  NODESELECTORKEY: "# no node selector specified - SGXPlugin runs on all nodes",
  NODESELECTOR: "# nodeSelector:",
  VAULT_NAME: "vault",
  VAULT_IMAGE_REPO: "registry.scontain.com/scone.cloud/vault",
  VAULT_IMAGE_TAG: "1.13.1",
  SCONE_CAS_ADDR: "cas.scone-samples",
  OWNER_ID: "owner-1234",
};

/** envsubst: $VAR and ${VAR}; `$(VAR)` is Kubernetes' own expansion and stays. Unknown names are an error. */
function envsubst(text: string, vars: Record<string, string>): string {
  return text.replaceAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced, bare) => {
    const name = String(braced ?? bare);
    const value = vars[name];
    if (value === undefined) throw new Error(`sample variable ${name} has no test value`);
    return value;
  });
}

interface Sample {
  name: string;
  text: string;
}

async function samples(): Promise<Sample[]> {
  const dir = UPSTREAM_SAMPLES_DIR;
  const read = (path: string) => Bun.file(join(dir, path)).text();
  const list: Sample[] = [];
  for (const file of [
    "base_v1beta1_las.yaml",
    "base_v1beta1_sgxplugin.yaml",
    "services_v1beta1_cas.yaml",
    "base_and_cas.yaml",
    "cas_v1beta1_signedpolicy.yaml", // verbatim: its policy text holds $$SCONE::SECRET$$, not a variable
    "cas_v1beta1_encryptedpolicy.yaml",
  ]) {
    list.push({ name: `operator-samples/${file}`, text: await read(`operator-samples/${file}`) });
  }
  // The Vault sample is a template too ($VAULT_NAME is no valid object name until filled in).
  list.push({
    name: "operator-samples/5.8.0-rc.1_vault.yaml",
    text: envsubst(await read("operator-samples/5.8.0-rc.1_vault.yaml"), VARS),
  });
  for (const file of ["las.yaml", "sgxplugin.yaml", "cas.yaml"]) {
    list.push({ name: `manifests-6.0.6/${file}`, text: envsubst(await read(`manifests-6.0.6/${file}`), VARS) });
  }
  list.push({
    name: "manifests-6.0.6/sgxplugin.yaml with --node-selector",
    text: envsubst(await read("manifests-6.0.6/sgxplugin.yaml"), {
      ...VARS,
      NODESELECTORKEY: "nodeSelector:",
      NODESELECTOR: 'sgx.intel.com/capable: "true"',
    }),
  });
  const provisioning = envsubst(await read("manifests-6.0.6/cas_provisioning.yaml"), { ...VARS, NAME: "cas-prov" });
  list.push({ name: "manifests-6.0.6/cas_provisioning.yaml", text: provisioning });
  // As the plugin does: `  nonce: <32 hex>` appended at the end of the file, i.e. under spec.
  const withNewline = provisioning.endsWith("\n") ? provisioning : `${provisioning}\n`;
  list.push({ name: "manifests-6.0.6/cas_provisioning.yaml + nonce", text: `${withNewline}  nonce: ${NONCE}\n` });
  list.push({
    name: "Scone stack example (SCONE-STACK.md)",
    text: [
      "apiVersion: confidential.security.osc.t-systems.com/v1alpha1",
      "kind: Scone",
      "metadata:",
      "  name: scone",
      "spec:",
      "  serviceVersion: 5.8.0",
      "  managementState: Managed",
      "  skipCas: false",
      "",
    ].join("\n"),
  });
  return list;
}

type Json = Record<string, unknown>;

const haveSamples = existsSync(UPSTREAM_SAMPLES_DIR);
if (!clusterAvailable()) test.skip("CRDs on a real API server: SCONE_SKIP_CLUSTER=1", () => {});
const samplesSkipReason = `no upstream samples at ${UPSTREAM_SAMPLES_DIR} (set SCONE_UPSTREAM_SAMPLES)`;

/** Server-side apply in dry-run: full validation, defaulting and admission, nothing stored. */
async function dryRunApply(c: LocalCluster, text: string) {
  return c.kubectl(
    [
      "apply",
      "--server-side",
      `--field-manager=${FIELD_MANAGER}`,
      "--dry-run=server",
      "--validate=strict",
      "-n",
      NAMESPACE,
      "-o",
      "json",
      "-f",
      "-",
    ],
    { stdin: text },
  );
}

describe.if(clusterAvailable())("our CRDs on a real API server", () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await sharedCluster();
    // An upgrade from the upstream chart: its Vault CRD (the kind no other test uses) with a conversion webhook
    // and cert-manager annotation is there first; the takeover patch lets our server-side apply replace it.
    const upstreamVault = join(UPSTREAM_CRDS_DIR, "vaults.services.scone.cloud.yaml");
    if (existsSync(upstreamVault)) {
      const text = (await Bun.file(upstreamVault).text()).replaceAll(/\{\{[^}]*\}\}/g, "scone-system");
      const installed = await cluster.kubectl(["apply", "-f", "-"], { stdin: text });
      expect(installed.code).toBe(0);
      const patched = await cluster.kubectl(TAKE_OVER_VAULT_CRD);
      expect(patched.stderr).toBe("");
    }
    const applied = await cluster.kubectl(
      ["apply", "--server-side", "--force-conflicts", `--field-manager=${FIELD_MANAGER}`, "-f", "-"],
      { stdin: renderCrdManifests() },
    );
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const names = renderCrds().map((crd) => `crd/${crdName({ plural: crd.spec.names.plural, group: crd.spec.group })}`);
    const established = await cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
    expect(established.code).toBe(0);
    const conversion = await cluster.kubectl([
      "get",
      "crd",
      "vaults.services.scone.cloud",
      "-o",
      "jsonpath={.spec.conversion}",
    ]);
    expect(JSON.parse(conversion.stdout)).toEqual({ strategy: "None" });
    const ns = await cluster.kubectl(["create", "namespace", NAMESPACE]);
    if (ns.code !== 0) expect(ns.stderr).toContain("AlreadyExists");
  }, 180_000);

  // Should the set-up have stopped between installing upstream's Vault CRD and taking it over, the shared CRD must
  // not keep its conversion webhook (no server answers it: every Vault read of a later file would fail).
  afterAll(async () => {
    await cluster?.kubectl(TAKE_OVER_VAULT_CRD).catch(() => undefined);
  }, 60_000);

  test.skipIf(!haveSamples)(
    haveSamples
      ? "every sample applies unchanged, our validator agrees, and the server stores what applyDefaults predicts"
      : `every sample applies unchanged: skipped, ${samplesSkipReason}`,
    async () => {
      const all = await samples();
      expect(all.length).toBeGreaterThanOrEqual(14);
      let checked = 0;
      for (const sample of all) {
        const result = await dryRunApply(cluster, sample.text);
        if (result.code !== 0) throw new Error(`${sample.name} was refused:\n${result.stderr}`);
        const sent = parseAllDocuments(sample.text)
          .map((d) => d.toJSON() as Json | null)
          .filter((d): d is Json => d !== null);
        const out = JSON.parse(result.stdout) as Json;
        const stored = (out.kind === "List" ? (out.items as Json[]) : [out]).filter((o) => isSconeKind(String(o.kind)));
        const sentCustom = sent.filter((o) => isSconeKind(String(o.kind)));
        expect(stored).toHaveLength(sentCustom.length);
        for (const [i, doc] of sentCustom.entries()) {
          const kind = String(doc.kind);
          expect({ sample: sample.name, issues: validate(kind, doc, { unknownFields: "report" }) }).toEqual({
            sample: sample.name,
            issues: [],
          });
          // Nothing pruned, and the defaults the server applied are exactly ours.
          expect({ sample: sample.name, spec: stored[i]?.spec }).toEqual({
            sample: sample.name,
            spec: (applyDefaults(kind, doc) as Json).spec,
          });
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(16);
    },
    120_000,
  );

  const invalid: { name: string; kind: string; doc: Json; field: string; says: string }[] = [
    {
      name: "CAS with a nonce of 32 characters that are not hexadecimal",
      kind: "CAS",
      doc: {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "bad-nonce" },
        spec: { nonce: "g".repeat(32) },
      },
      field: "spec.nonce",
      says: "should match '^[0-9A-Fa-f]{32}$'",
    },
    {
      name: "CAS with a short nonce",
      kind: "CAS",
      doc: {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "short-nonce" },
        spec: { nonce: "abc" },
      },
      field: "spec.nonce",
      says: "at least 32 chars long",
    },
    {
      name: "LAS with an unknown image pull policy",
      kind: "LAS",
      doc: {
        apiVersion: "base.scone.cloud/v1beta1",
        kind: "LAS",
        metadata: { name: "bad-enum" },
        spec: { imagePullPolicy: "Sometimes" },
      },
      field: "spec.imagePullPolicy",
      says: "Unsupported value",
    },
    {
      name: "CAS enclave metrics port out of range",
      kind: "CAS",
      doc: {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "bad-port" },
        spec: { enclaveMetrics: { enabled: true, port: 70000 } },
      },
      field: "spec.enclaveMetrics.port",
      says: "65535",
    },
    {
      name: "SGXPlugin capacity below 1",
      kind: "SGXPlugin",
      doc: {
        apiVersion: "base.scone.cloud/v1beta1",
        kind: "SGXPlugin",
        metadata: { name: "bad-capacity" },
        spec: { capacitySGXPods: 0 },
      },
      field: "spec.capacitySGXPods",
      says: "greater than or equal to 1",
    },
    {
      name: "SignedPolicy without signatures",
      kind: "SignedPolicy",
      doc: {
        apiVersion: "cas.scone.cloud/v1beta1",
        kind: "SignedPolicy",
        metadata: { name: "bad-policy" },
        spec: { casAddress: "https://cas:8081", policy: "name: x" },
      },
      field: "spec.signatures",
      says: "Required value",
    },
    {
      name: "Scone without serviceVersion",
      kind: "Scone",
      doc: {
        apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
        kind: "Scone",
        metadata: { name: "bad-scone" },
        spec: { managementState: "Managed" },
      },
      field: "spec.serviceVersion",
      says: "Required value",
    },
  ];

  test("accepted as by the server: required fields that have a default may be left out or null", async () => {
    for (const enclaveMetrics of [{ port: 9090 }, { enabled: null, port: 9091 }]) {
      const doc = {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "metrics-defaults" },
        spec: { enclaveMetrics },
      };
      const result = await dryRunApply(cluster, JSON.stringify(doc));
      expect(result.stderr).toBe("");
      const stored = JSON.parse(result.stdout) as Json;
      expect(stored.spec).toEqual((applyDefaults("CAS", doc) as Json).spec);
      expect(validate("CAS", doc)).toEqual([]);
    }
  });

  for (const c of invalid) {
    test(`refused: ${c.name} (field ${c.field})`, async () => {
      const result = await dryRunApply(cluster, JSON.stringify(c.doc));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(c.field);
      expect(result.stderr).toContain(c.says);
      expect(validate(c.kind, c.doc).map((i) => i.field)).toContain(c.field);
    });
  }
});
