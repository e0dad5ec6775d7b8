// The admission policy's operator setting: `scone operator install --allowed-registries` reaches the operator
// Deployment's arguments, bad values and useless combinations are refused naming the flag.
import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { operatorCommand } from "../../../../src/cli/commands/operator.ts";
import { desiredInstall } from "../../../../src/flows/install/desired.ts";
import { InstallOptionError, installOptionsFromFlags } from "../../../../src/flows/install/options.ts";

const operatorArgs = (flags: Record<string, unknown>): string[] => {
  const d = desiredInstall(installOptionsFromFlags(flags)).items.find((i) => i.object.kind === "Deployment")?.object as
    | V1Deployment
    | undefined;
  return d?.spec?.template.spec?.containers[0]?.args ?? [];
};

describe("--allowed-registries", () => {
  test("install passes the normalised list to the operator", () => {
    expect(operatorArgs({ "allowed-registries": "Mirror.Local:5000/scone/, quay.io" })).toContain(
      "--allowed-registries=mirror.local:5000/scone,quay.io",
    );
  });

  test("without the flag the operator keeps its default (no argument)", () => {
    expect(operatorArgs({}).some((a) => a.startsWith("--allowed-registries"))).toBe(false);
  });

  test("a bad entry is refused naming the flag", () => {
    expect(() => installOptionsFromFlags({ "allowed-registries": "registry" })).toThrow(InstallOptionError);
    expect(() => installOptionsFromFlags({ "allowed-registries": "registry" })).toThrow(
      '--allowed-registries: "registry" is not a registry',
    );
  });

  test("with --local-operator there is no Deployment to pass it to: refused, saying where it goes", () => {
    expect(() =>
      installOptionsFromFlags({ "allowed-registries": "quay.io", "local-operator": "127.0.0.1:9443" }),
    ).toThrow("give it to the local 'scone operator --allowed-registries' instead");
  });

  test("`scone operator` and `scone operator install` check the value before running", () => {
    const args = operatorCommand.args as Record<string, { check?: (v: string) => string | undefined }>;
    expect(args["allowed-registries"]?.check?.("quay.io,mirror.local:5000/x")).toBeUndefined();
    expect(args["allowed-registries"]?.check?.("bad")).toContain('"bad" is not a registry');
  });
});
