// `--cli-node-selector KEY=VALUE[,KEY=VALUE…]`: where a CAS's sconecli pod is created. Accepted exactly where
// --scone-cli is (and on `scone operator install`), grammar-checked with the flag named, rendered into the operator
// Deployment's args (default: --operator-node-selector), and not part of the CLI pod's spec hash (the operator and
// a laptop CLI with different selectors share one pod instead of replacing each other's).
import { describe, expect, test } from "bun:test";
import { renderCliPod, SPEC_HASH_ANNOTATION } from "../../../src/cas/driver/cli-pod.ts";
import { formatCliNodeSelector, parseCliNodeSelector } from "../../../src/cas/driver/node-selector.ts";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { cliCasDriverSource } from "../../../src/cli/run/cas-driver.ts";
import { resolveCommand, validateArgs } from "../../../src/cli/validate.ts";
import { installOptionsFromFlags } from "../../../src/flows/install/options.ts";
import { renderDeployment } from "../../../src/install/operator.ts";
import { resolveInstallOptions } from "../../../src/install/options.ts";
import type { KubeClient } from "../../../src/kube/client.ts";

function verdict(argv: string[]) {
  const { command, rest } = resolveCommand(rootCommand, argv);
  return validateArgs(command, rest);
}

describe("parseCliNodeSelector", () => {
  test("KEY=VALUE pairs, comma-separated, prefixed keys and empty values", () => {
    expect(parseCliNodeSelector("kubernetes.io/hostname=node-1,zone=a,empty=")).toEqual({
      selector: { "kubernetes.io/hostname": "node-1", zone: "a", empty: "" },
    });
  });

  test.each([
    ["", /it is empty/],
    ["kubernetes.io/hostname", /'kubernetes.io\/hostname' has no '='/],
    ["a=b,", /'' has no '='/],
    ["=b", /'' is not a label key/],
    ["Bad_Prefix/x=1", /'Bad_Prefix\/x' is not a label key/],
    ["a=has space", /'has space' \(of a\) is not a label value/],
    ["a=b=c", /'b=c' \(of a\) is not a label value/],
    ["a: b", /'a: b' has no '='/],
    ["a=1,a=2", /a is given twice/],
    [`a=${"x".repeat(64)}`, /is not a label value/],
  ])("%j is refused naming the flag and the fix", (value, why) => {
    const r = parseCliNodeSelector(value);
    expect("problem" in r && r.problem).toMatch(/^invalid value '.*' for --cli-node-selector: /);
    expect("problem" in r && r.problem).toMatch(why);
    expect("problem" in r && r.problem).toContain("give KEY=VALUE[,KEY=VALUE…]");
  });

  test("formatCliNodeSelector reads back as the same selector, keys sorted", () => {
    const selector = { zone: "a", "kubernetes.io/hostname": "n1" };
    expect(formatCliNodeSelector(selector)).toBe("kubernetes.io/hostname=n1,zone=a");
    expect(parseCliNodeSelector(formatCliNodeSelector(selector))).toEqual({ selector });
  });
});

describe("--cli-node-selector on the command line", () => {
  test.each([["cas provision cas"], ["operator"], ["api"], ["operator install"]])(
    "scone %s accepts it and refuses a malformed value naming the flag",
    (line) => {
      const cmd = line.split(" ");
      expect(verdict([...cmd, "--cli-node-selector", "kubernetes.io/hostname=n1"]).ok).toBe(true);
      const bad = verdict([...cmd, "--cli-node-selector", "kubernetes.io/hostname"]);
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.message).toMatch(/for --cli-node-selector: 'kubernetes.io\/hostname' has no '='/);
    },
  );

  test("commands that create no sconecli pod refuse it as unknown", () => {
    const r = verdict(["images", "--cli-node-selector", "a=b"]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/cli-node-selector/);
  });

  test("with a local SCONE CLI it would do nothing: refused, naming both flags", async () => {
    const kube = { transport: { connection: {} } } as unknown as KubeClient;
    await expect(
      cliCasDriverSource({ "scone-cli": "/bin/sh", "cli-node-selector": "a=b", "state-dir": "/tmp/x" }, kube),
    ).rejects.toThrow(/--cli-node-selector places the sconecli pod, which a local SCONE CLI \(--scone-cli/);
  });
});

describe("scone operator install --cli-node-selector", () => {
  const args = (flags: Record<string, string>) => {
    const o = installOptionsFromFlags(flags);
    const resolved = resolveInstallOptions({
      ...(o.operatorNodeSelector ? { nodeSelector: o.operatorNodeSelector } : {}),
      ...(o.cliNodeSelector ? { cliNodeSelector: o.cliNodeSelector } : {}),
    });
    return renderDeployment(resolved, {}).spec?.template.spec?.containers[0]?.args ?? [];
  };

  test("defaults to --operator-node-selector: CLI pods run where the operator runs", () => {
    expect(args({ "operator-node-selector": "kubernetes.io/hostname=n1" })).toContain(
      "--cli-node-selector=kubernetes.io/hostname=n1",
    );
  });

  test("its own value wins over --operator-node-selector", () => {
    const a = args({ "operator-node-selector": "kubernetes.io/hostname=n1", "cli-node-selector": "zone=b,pool=cli" });
    expect(a.filter((x) => x.startsWith("--cli-node-selector"))).toEqual(["--cli-node-selector=pool=cli,zone=b"]);
  });

  test("neither given: no flag, the CLI pods may run on any node", () => {
    expect(args({}).some((x) => x.startsWith("--cli-node-selector"))).toBe(false);
  });

  test("refused with --local-operator (no Deployment to configure) and when malformed", () => {
    expect(() => installOptionsFromFlags({ "cli-node-selector": "a=b", "local-operator": "127.0.0.1:1234" })).toThrow(
      /--cli-node-selector configures the operator Deployment, which --local-operator does not install/,
    );
    expect(() => installOptionsFromFlags({ "cli-node-selector": "a" })).toThrow(/for --cli-node-selector: /);
  });
});

describe("the CLI pod's placement", () => {
  const owner = { apiVersion: "services.scone.cloud/v1beta1", name: "cas", namespace: "ns", uid: "u-1" };
  const image = "registry.scontain.com/scone.cloud/sconecli:6.0.6";

  test("the selector places the pod but leaves the spec hash alone (processes with other selectors share it)", () => {
    const anywhere = renderCliPod(owner, image);
    const pinned = renderCliPod(owner, image, { "kubernetes.io/hostname": "n1" });
    expect(pinned.spec?.nodeSelector).toEqual({ "kubernetes.io/hostname": "n1" });
    expect(anywhere.spec?.nodeSelector).toBeUndefined();
    expect(pinned.metadata?.annotations?.[SPEC_HASH_ANNOTATION]).toBe(
      anywhere.metadata?.annotations?.[SPEC_HASH_ANNOTATION],
    );
    // Anything else in the spec still counts: another image is another pod.
    expect(renderCliPod(owner, `${image}-x`).metadata?.annotations?.[SPEC_HASH_ANNOTATION]).not.toBe(
      anywhere.metadata?.annotations?.[SPEC_HASH_ANNOTATION],
    );
  });

  test("it tolerates a cordon, so the nodes the selector names stay usable while cordoned", () => {
    expect(renderCliPod(owner, image).spec?.tolerations).toContainEqual({
      key: "node.kubernetes.io/unschedulable",
      operator: "Exists",
      effect: "NoSchedule",
    });
  });
});
