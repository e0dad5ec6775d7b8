// The whole command tree of the scone binary. Definitions only: every implementation is loaded lazily.
import { SCONE_VERSION } from "../../version.ts";
import { group } from "../define.ts";
import type { SconeCommand } from "../spec.ts";
import { apiCommand } from "./api.ts";
import { casCommand } from "./cas.ts";
import { doctorCommand } from "./doctor.ts";
import { completionCommand, imagesCommand, manifestsCommand, versionCommand } from "./misc.ts";
import { operatorCommand } from "./operator.ts";
import { policyCommand } from "./policy.ts";
import { vaultCommand } from "./vault.ts";

export const rootCommand: SconeCommand = group({
  meta: {
    name: "scone",
    description: `Operator, CLI and REST API for SCONE confidential computing on Kubernetes (${SCONE_VERSION})`,
  },
  subCommands: {
    operator: operatorCommand,
    cas: casCommand,
    policy: policyCommand,
    vault: vaultCommand,
    api: apiCommand,
    doctor: doctorCommand,
    images: imagesCommand,
    manifests: manifestsCommand,
    completion: completionCommand,
    version: versionCommand,
  },
  notes: [
    "Through a symlink named kubectl-provision, scone answers the upstream `kubectl provision` syntax.",
    "Exit codes: 0 ok, 1 failure, 2 usage (nothing was done), 3 differs (a report found something to change). " +
      "Durations: 90s, 5m, 1h30m (a bare number is seconds). Conventions: docs/cli.md.",
  ],
});
