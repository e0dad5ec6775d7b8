// Golden renders of what upstream's kubectl-provision writes: the owner config (§10.2 step 9), the provisioning
// manifest with the appended nonce, the backup policy with the indented owner identity, and the JSON patches.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import {
  EMBEDDED_MANIFESTS,
  loadManifests,
  parsePatchFile,
  patchOf,
} from "../../../../src/flows/provision/manifests.ts";
import {
  BACKUP_POLICY_YAML,
  CAS_OWNER_YAML,
  CAS_PROVISIONING_YAML,
  indentOwnerIdentity,
  postProvisioningPatch,
  renderBackupPolicy,
  renderOwnerConfig,
  renderProvisioningManifest,
  SCONE_CLI_MRENCLAVE,
  substitute,
} from "../../../../src/flows/provision/templates.ts";
import { sharedPath } from "../../../harness/shared.ts";

const UPSTREAM = sharedPath("reference", "upstream-samples", "manifests-6.0.6");
const upstream = (file: string) => {
  try {
    return readFileSync(`${UPSTREAM}/${file}`, "utf8");
  } catch {
    return undefined;
  }
};

describe("embedded upstream files", () => {
  test.each([
    ["cas_provisioning.yaml", CAS_PROVISIONING_YAML],
    ["backup_policy.yaml", BACKUP_POLICY_YAML],
    ["cas-owner.yaml", CAS_OWNER_YAML],
  ])("%s is upstream's text", (file, embedded) => {
    const original = upstream(file);
    if (original === undefined) return; // reference copy not on this machine
    expect(embedded.trimEnd()).toBe(original.trimEnd());
  });

  test("the patches are upstream's operations (trailing commas and all)", () => {
    for (const [file, backup] of [
      ["cas_patch_probes_and_backup.json", true],
      ["cas_patch_probes.json", false],
    ] as const) {
      const original = upstream(file);
      if (original === undefined) continue;
      const ops = parse(
        substitute(original, { POLICY_NAME: "cas-owner/primary-backup", IMAGE_REPO: "r", IMAGE_PREFIX: "" }),
      );
      expect(postProvisioningPatch({ backup, backupControllerImage: "r/backup-controller:6.0.6" })).toEqual(ops);
    }
  });
});

describe("renders", () => {
  test("owner config (golden)", () => {
    expect(
      renderOwnerConfig({
        serviceName: "cas",
        pod: "cas-0",
        namespace: "prod",
        clusterIp: "10.96.0.7",
        dcapKey: "0123456789abcdef0123456789abcdef",
      }),
    ).toBe(`enclave_reconnect_timeout = "24h"
[api_identity]
common_name = "cas"
alt_names = ["cas-0",  "cas-0.prod.svc.cluster.local", "cas-0.prod",  "cas.prod.svc.cluster.local", "cas.prod", "localhost", "10.96.0.7", "cas-instance", "host.docker.internal" ]

[dcap]
subscription_key = "0123456789abcdef0123456789abcdef"

[audit_log]
mode = "signed"
sink = "file"

`);
  });

  test("owner config with --webhook: network sink and url", () => {
    const text = renderOwnerConfig({
      serviceName: "cas",
      pod: "cas-0",
      namespace: "prod",
      clusterIp: "",
      dcapKey: "0".repeat(32),
      webhook: 'https://audit.example/in?a="b"',
    });
    expect(text).toEndWith(`sink = "network"\nurl = "https://audit.example/in?a=\\"b\\""\n`);
    const parsed = Bun.TOML.parse(text) as {
      audit_log: { url: string; sink: string };
      api_identity: { alt_names: string[] };
    };
    expect(parsed.audit_log).toEqual({
      mode: "signed",
      sink: "network",
      url: 'https://audit.example/in?a="b"',
    } as never);
    expect(parsed.api_identity.alt_names).toContain("localhost");
  });

  const VALID = {
    name: "cas",
    namespace: "prod",
    image: "registry.scontain.com/scone.cloud/cas:6.0.6",
    nonce: "00112233445566778899aabbccddeeff",
  };
  /** Upstream: envsubst into the text, then `echo "  nonce: $NONCE" >>`. */
  const upstreamRender = (p: typeof VALID) =>
    parse(
      `${substitute(CAS_PROVISIONING_YAML, { NAME: p.name, NAMESPACE: p.namespace, IMAGE: p.image }).trimEnd()}\n  nonce: ${p.nonce}\n`,
    );

  test("provisioning manifest (golden): variables filled in, nonce under spec; the object is upstream's", () => {
    const { object, text } = renderProvisioningManifest(VALID);
    // Byte for byte upstream's envsubst text, but for the one double space yaml's printer makes single.
    const upstreamText = substitute(CAS_PROVISIONING_YAML, { NAME: "cas", NAMESPACE: "prod", IMAGE: VALID.image });
    expect(text).toBe(
      `${upstreamText.replace('inject-pull-secret:  "true"', 'inject-pull-secret: "true"').trimEnd()}\n  nonce: ${VALID.nonce}\n`,
    );
    expect(text).toContain("  image: registry.scontain.com/scone.cloud/cas:6.0.6\n");
    expect(object).toEqual(upstreamRender(VALID));
    expect(parse(text)).toEqual(object);
    expect(object.spec?.["backup-controller"]).toEqual({ enabled: false });
  });

  // Issue 11 item 2: upstream pastes IMAGE into the text, so a registry with a newline adds keys to the CAS spec
  // (here: a toleration of every taint). The value must stay the value of spec.image.
  test("a value with a newline and YAML stays the value of its field (no keys added)", () => {
    const attack = {
      ...VALID,
      image: 'evil.example/x\n  tolerations:\n    - operator: Exists\n  nodeName: "master"\n#/cas:6.0.6',
      namespace: "prod\n  labels: {a: b}",
    };
    const { object, text } = renderProvisioningManifest(attack);
    expect(Object.keys(object.spec ?? {})).toEqual(Object.keys(upstreamRender(VALID).spec));
    expect(object.spec?.image).toBe(attack.image);
    expect(object.metadata.namespace).toBe(attack.namespace);
    expect(Object.keys(object.metadata)).toEqual(["name", "namespace"]);
    expect(parse(text)).toEqual(object);
  });

  test("backup policy: owner identity indented 10 spaces under content, other $ left alone", () => {
    const identity = JSON.stringify(
      { identity: "KEY\nCERT", cas_db: {}, session_signing_keypair_ed25519_seed: "00" },
      null,
      2,
    );
    const text = renderBackupPolicy(identity);
    expect(text).toContain('        content: |\n          {\n            "identity": "KEY\\nCERT",');
    expect(text).toContain("#$PLATFORM_IDS");
    expect(text).toContain("\\@\\@SCONE_LAS_ADDR");
    const doc = parse(text);
    expect(doc.name).toBe("cas-owner/primary-backup");
    expect(JSON.parse(doc.images[0].injection_files[0].content)).toEqual(JSON.parse(identity));
    expect(doc.services.map((s: { name: string }) => s.name)).toEqual(["register", "upgrade"]);
    // Byte for byte what upstream's envsubst makes of the same (valid) values.
    const pasted = substitute(BACKUP_POLICY_YAML, {
      POLICY_NAME: "cas-owner/primary-backup",
      SCONE_CLI_MRENCLAVE,
      OWNER_IDENTITY: indentOwnerIdentity(identity),
    });
    expect(doc).toEqual(parse(pasted));
    expect(text).toBe(pasted);
  });

  test("substitute replaces only the listed variables, in both spellings", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst syntax, not a template
    expect(substitute("$A ${A} $B ${C} $", { A: "x", C: "z" })).toBe("x x $B z $");
  });
});

describe("--manifests-dir", () => {
  const choice = { imageRepo: "registry.scontain.com/scone.cloud", backupControllerImage: "x" };
  test("files found there replace the embedded ones; the patches read there equal upstream's operations", async () => {
    if (upstream("cas_patch_probes.json") === undefined) return;
    const m = await loadManifests(UPSTREAM);
    expect([...m.fromDir].sort()).toEqual([
      "backup_policy.yaml",
      "cas-owner.yaml",
      "cas_patch_probes.json",
      "cas_patch_probes_and_backup.json",
      "cas_provisioning.yaml",
    ]);
    expect(patchOf(m, { ...choice, backup: false })).toEqual(patchOf(EMBEDDED_MANIFESTS, { ...choice, backup: false }));
    expect(patchOf(m, { ...choice, backup: true }).at(2)).toEqual({
      op: "replace",
      path: "/spec/backup-controller/image",
      value: "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
    });
  });

  test("a directory without the files keeps the embedded ones", async () => {
    const m = await loadManifests("/nonexistent-dir");
    expect(m.fromDir).toEqual([]);
    expect(m.casProvisioning).toBe(CAS_PROVISIONING_YAML);
  });

  test("a patch file that is not a JSON patch is refused, naming the file", () => {
    expect(() => parsePatchFile('{"op": "replace"}', "--filename p.json")).toThrow(
      "--filename p.json: expected a JSON patch: a list of {op: add|replace, path, value}",
    );
    expect(() => parsePatchFile('[{"op": "remove", "path": "/x", "value": 1}]', "f")).toThrow(
      /f: expected a JSON patch/,
    );
  });
});
