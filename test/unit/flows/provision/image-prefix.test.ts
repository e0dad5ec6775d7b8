// The mirror's prefix reaches the images the CLI deploys itself (issue 12): `scone cas provision` and
// `scone cas restore` (CAS, cas-recovery, backup controller, upstream's IMAGE_PREFIX in patch files),
// kubectl-provision's IMAGE_PREFIX environment variable, and `scone vault provision`.
import { describe, expect, test } from "bun:test";
import { checkImagePrefix } from "../../../../src/cli/globals.ts";
import { translateKubectlProvisionArgs } from "../../../../src/cli/kubectl-provision.ts";
import { vaultFlags } from "../../../../src/cli/run/vault.ts";
import { EMBEDDED_MANIFESTS, patchOf } from "../../../../src/flows/provision/manifests.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import {
  backupControllerImage,
  casImage,
  casRecoveryImage,
  imageChoice,
} from "../../../../src/flows/provision/templates.ts";

const MIRROR = "127.0.0.1:5000/mirror";

describe("--image-prefix of the CLI's own deployments", () => {
  test("provision: the CAS, recovery and backup controller images carry registry and prefix", () => {
    const o = provisionOptionsFromFlags({
      name: "cas",
      namespace: "ns",
      "image-registry": MIRROR,
      "image-prefix": "pfx-",
      "set-version": "6.0.6",
    });
    const choice = imageChoice(o);
    expect([casImage(choice), casRecoveryImage(choice), backupControllerImage(choice)]).toEqual([
      `${MIRROR}/pfx-cas:6.0.6`,
      `${MIRROR}/pfx-cas-recovery:6.0.6`,
      `${MIRROR}/pfx-backup-controller:6.0.6`,
    ]);
  });

  test("a patch file's IMAGE_PREFIX is the prefix (upstream's envsubst), not empty", () => {
    const file = JSON.stringify([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst syntax, not a template
      { op: "replace", path: "/spec/backup-controller/image", value: "${IMAGE_REPO}/${IMAGE_PREFIX}backup-controller" },
    ]);
    const m = { ...EMBEDDED_MANIFESTS, patchProbesAndBackup: file };
    const ops = patchOf(m, { backup: true, imageRepo: MIRROR, imagePrefix: "pfx-", backupControllerImage: "x" });
    expect(ops[0]).toMatchObject({ value: `${MIRROR}/pfx-backup-controller` });
  });

  test("kubectl-provision: IMAGE_PREFIX stands for --image-prefix", () => {
    const { command } = translateKubectlProvisionArgs(["cas", "c", "-n", "ns"], { IMAGE_PREFIX: "pfx-" });
    expect(command.join(" ")).toContain("--image-prefix pfx-");
  });

  test("vault: REGISTRY/PREFIXvault", () => {
    const v = vaultFlags({ name: "v", namespace: "ns", "image-registry": MIRROR, "image-prefix": "pfx-" });
    expect(v.imageRepo).toBe(`${MIRROR}/pfx-vault`);
    expect(vaultFlags({ name: "v", namespace: "ns" }).imageRepo).toBe("registry.scontain.com/scone.cloud/vault");
  });

  test("a prefix that no registry path allows is refused, naming the flag", () => {
    expect(checkImagePrefix("image-prefix")("pfx-")).toBeUndefined();
    expect(checkImagePrefix("image-prefix")("team/pfx-")).toBeUndefined();
    expect(checkImagePrefix("image-prefix")("Bad Prefix")).toContain("--image-prefix");
    expect(checkImagePrefix("image-prefix")("a//b")).toContain("--image-prefix");
  });
});
