// `scone cas …`: the CAS lifecycle. `provision` mirrors the flags of the upstream `kubectl provision cas`
// plugin (SCONE-INTERFACE §10.1) so scripts can switch by changing the command name only.

import { reportFileProblem } from "../../flows/report/file-name.ts";
import { command, group, lazyRun } from "../define.ts";
import {
  ALL_GLOBALS,
  CAS_DRIVER_GLOBALS,
  casNameProblem,
  checkDuration,
  checkHex32,
  checkImagePrefix,
  checkPort,
  checkPositiveInt,
  checkVersion,
  DOCKER_ARG,
  exclusive,
  requires,
  timeoutArg,
} from "../globals.ts";
import type { FlagValues, SconeArgDef } from "../spec.ts";

const casName: SconeArgDef = {
  type: "positional",
  description: "CAS name (at most 15 characters, a DNS label)",
  valueHint: "NAME",
  check: casNameProblem,
  complete: "cas",
};

function checkUrl(flag: string): (value: string) => string | undefined {
  return (value) =>
    /^https?:\/\/\S+$/.test(value) ? undefined : `invalid value '${value}' for --${flag}: expected an http(s):// URL`;
}

// The mode flags are the flow's (modes.ts: a constant only, so the command tree stays light to load).
import { PROVISION_MODES } from "../../flows/provision/modes.ts";

export { PROVISION_MODES };

export function provisionChecks(values: FlagValues): string | undefined {
  return (
    exclusive(values, PROVISION_MODES) ??
    requires(values, "force", "upgrade") ??
    requires(values, "postprovision-owner-identity", "postprovision-only") ??
    (values.wait === true && values.backup === false ? "--wait cannot be used with --no-backup" : undefined)
  );
}

const imagePrefixArg: SconeArgDef = {
  type: "string",
  valueHint: "PREFIX",
  description: "Prefix of the image names in the registry, e.g. 'osc-' (as scone operator install --image-prefix)",
  check: checkImagePrefix("image-prefix"),
};

export const provisionArgs: Record<string, SconeArgDef> = {
  name: casName,
  "dcap-api": {
    type: "string",
    alias: "d",
    valueHint: "KEY",
    description: "Intel DCAP/PCS API key (default: LAS .spec.dcapKey)",
  },
  "owner-config": {
    type: "string",
    valueHint: "FILE|URL",
    description: "Custom CAS owner config (TOML). Upstream's short form -o is --output here",
  },
  target: {
    type: "string",
    valueHint: "DIR",
    description: "Directory for owner identity and config (default: ~/.cas)",
  },
  backup: {
    type: "boolean",
    default: true,
    description: "Enable the backup controller",
    negativeDescription: "Provision without the backup controller",
  },
  webhook: {
    type: "string",
    valueHint: "URL",
    description: "Send the audit log to this URL",
    check: checkUrl("webhook"),
  },
  wait: { type: "boolean", description: "Wait until the CAS is HEALTHY" },
  timeout: timeoutArg("How long each wait of the provisioning may take, e.g. 90s or 10m (default 10m)"),
  nonce: {
    type: "string",
    valueHint: "HEX32",
    description: "Provisioning nonce, 32 hex characters (default: random)",
    check: checkHex32("nonce"),
  },
  "image-registry": {
    type: "string",
    valueHint: "URL",
    description: "Image repository (default: registry.scontain.com/scone.cloud)",
  },
  "image-prefix": imagePrefixArg,
  "set-version": {
    type: "string",
    valueHint: "VERSION",
    description: "SCONE version of the CAS images",
    check: checkVersion("set-version"),
  },
  "is-provisioned": { type: "boolean", description: "Exit 0 iff the CAS is provisioned" },
  verify: { type: "boolean", description: "Attest the CAS and report whether it is provisioned" },
  "print-public-keys": { type: "boolean", description: "Attest the CAS and print its public keys as shell exports" },
  "preprovision-only": {
    type: "boolean",
    description: "Create an unprovisioned CAS and print CAS_KEY_HASH / CAS_PROVISIONING_TOKEN",
  },
  "postprovision-only": { type: "boolean", description: "Only upload the owner sessions and enable probes/backup" },
  "postprovision-owner-identity": {
    type: "string",
    valueHint: "FILE",
    description: "Owner identity for --postprovision-only",
  },
  "local-backup": {
    type: "boolean",
    description:
      "Back up the last completed database snapshot into ./cas-database-snapshots (scone cas backup --to there: a verified set with its manifest)",
  },
  "cas-database-recovery": {
    type: "string",
    valueHint: "DIR",
    description:
      "Create a new CAS from a snapshot directory (cas.db, cas.key-store) with the cas-recovery image (the flow of scone cas restore)",
  },
  upgrade: {
    type: "string",
    valueHint: "VERSION",
    description: "Upgrade the CAS to this SCONE version (the flow of scone cas upgrade --to-version)",
    check: checkVersion("upgrade"),
  },
  force: {
    type: "boolean",
    description: "With --upgrade: upgrade even an unhealthy CAS or one with an unexpected image",
  },
  "manifests-dir": { type: "string", valueHint: "DIR|URL", description: "Base location of the default manifests" },
  filename: { type: "string", alias: "f", valueHint: "FILE|URL", description: "Replace the CAS manifest patch" },
  verbose: { type: "boolean", alias: "v", description: "Verbose output (same as --log-level debug)" },
  debug: { type: "boolean", description: "Debug output (same as --log-level debug)" },
  "image-overwrite": {
    type: "string",
    valueHint: "IMAGE",
    description: "Use a non-standard CAS image (not signature-checked)",
  },
  "cas-address": { type: "string", valueHint: "ADDR", description: "CAS address (default: NAME.NAMESPACE)" },
  "cas-client-port": {
    type: "string",
    valueHint: "PORT",
    description: "CAS client port (default: .spec.service.clientPort or 8081)",
    check: checkPort("cas-client-port"),
  },
  "local-cas-client-port": {
    type: "string",
    valueHint: "PORT",
    description: "Local port for the forwarded CAS client port",
    check: checkPort("local-cas-client-port"),
  },
  "set-tolerations": {
    type: "string",
    alias: "set-toleration",
    valueHint: "FLAGS",
    description:
      "Attestation tolerations (default: --accept-configuration-needed --accept-group-out-of-date --accept-sw-hardening-needed)",
  },
  "verify-image-signatures": {
    type: "string",
    valueHint: "PUBKEY",
    description: "Refused: image signatures are verified by scone operator install (--verify-image-signatures there)",
  },
  "image-signature-check": {
    type: "boolean",
    default: true,
    description:
      "Upstream: check image signatures (scone operator install does; provisioning deploys no image of its own choice)",
    negativeDescription:
      "Upstream: skip the image signature checks (noted: provisioning verifies no signature, scone operator install does)",
    upstream: {
      note: "--no-image-signature-check changes nothing here: provisioning verifies no image signature; scone operator install verifies them (and takes --no-image-signature-check)",
    },
  },
  docker: DOCKER_ARG,
};

const provision = command({
  meta: { name: "provision", description: "Create, attest and provision a CAS (upstream: kubectl provision cas)" },
  args: provisionArgs,
  checks: provisionChecks,
  // The CAS is reached through the CAS driver: the sconecli pod, or a local SCONE CLI (src/cli/run/cas-driver.ts).
  globals: [...ALL_GLOBALS, ...CAS_DRIVER_GLOBALS],
  notes: [
    "Flags mirror the upstream `kubectl provision cas` plugin, with one difference: upstream's `-o` means " +
      "--owner-config, here `-o` is --output. Through the `kubectl-provision` name (a symlink to scone) the " +
      "upstream meaning of `-o` applies.",
    "--upgrade, --local-backup and --cas-database-recovery run the flows of scone cas upgrade, backup and restore; " +
      "flags those do not use are refused (--dcap-api is accepted with a note: it changes nothing there).",
    "Example: scone cas provision mycas -n prod --dcap-api $DCAP_KEY --wait",
  ],
  run: lazyRun(() => import("../run/cas-provision.ts")),
});

const dayTwo = {
  upgrade: () => import("../run/cas-upgrade.ts"),
  backup: () => import("../run/cas-backup.ts"),
  backups: () => import("../run/cas-backups.ts"),
  restore: () => import("../run/cas-restore.ts"),
  status: () => import("../run/cas-status.ts"),
  evict: () => import("../run/cas-evict.ts"),
  audit: () => import("../run/cas-audit.ts"),
  admitOperator: () => import("../run/cas-admit-operator.ts"),
  report: () => import("../run/cas-report.ts"),
};

const timeout = timeoutArg("How long to wait for each state the command waits for, e.g. 90s or 15m");

const s3Secret: SconeArgDef = {
  type: "string",
  valueHint: "NS/NAME",
  description:
    "Secret with S3 credentials (keys accessKeyId, secretAccessKey, endpoint, region); default: AWS_* variables",
};

const upgrade = command({
  meta: { name: "upgrade", description: "Upgrade a CAS to another SCONE version" },
  args: {
    name: casName,
    "to-version": {
      type: "string",
      required: true,
      valueHint: "VERSION",
      description: "Target SCONE version",
      check: checkVersion("to-version"),
    },
    force: { type: "boolean", description: "Upgrade even an unhealthy CAS or one with an unexpected image" },
    "backup-mrenclave": {
      type: "string",
      valueHint: "HEX",
      description:
        "MRENCLAVE of the SCONE CLI in the new backup-controller image (upstream: docker run -e SCONE_HASH=1 IMAGE cas); the backup policy is updated to admit it",
      check: (v) =>
        /^[0-9a-f]{64}$/.test(v)
          ? undefined
          : `invalid value '${v}' for --backup-mrenclave: expected 64 lower-case hex digits`,
    },
    target: {
      type: "string",
      valueHint: "DIR",
      description: "With --backup-mrenclave: directory of the owner identity (default: ~/.cas)",
    },
    timeout,
  },
  // --to names a destination elsewhere (`scone cas backup --to`); upstream spells the version `kubectl provision --upgrade`.
  renamed: { to: "to-version" },
  globals: [...ALL_GLOBALS, ...CAS_DRIVER_GLOBALS],
  notes: [
    "Upstream order: the backup controller session (/upgrade), the backup policy (with --backup-mrenclave), the " +
      "backup controller (image, BACKUP_CAS_IMAGE), wait until every migration node holds a registered backup of the " +
      "new version, then the CAS image (and the safety service image), wait HEALTHY. " +
      "The operator holds the CAS image back while that is unsafe (condition UpgradeBlocked). Rerun to continue.",
    "Without --backup-mrenclave the backup policy keeps its MRENCLAVE: if the new backup controller's CLI differs, " +
      "its registrations fail and the operator keeps the old CAS image (UpgradeBlocked: WaitingForRegistrations).",
    "Example: scone cas upgrade cas -n prod --to-version 6.0.7",
  ],
  run: lazyRun(dayTwo.upgrade),
});

const backup = command({
  meta: { name: "backup", description: "Copy the last database snapshot of a CAS to a directory or S3, verified" },
  args: {
    name: casName,
    to: {
      type: "string",
      valueHint: "DIR|s3://BUCKET/PREFIX",
      description: "Where the backup goes (default: <state dir>/backups)",
    },
    "s3-secret": s3Secret,
  },
  notes: ["Example: scone cas backup cas -n prod --to s3://backups/cas --s3-secret prod/backup-s3"],
  run: lazyRun(dayTwo.backup),
});

const backups = command({
  meta: { name: "backups", description: "List the backups in the catalog (all CAS, or NAME's), or in a location" },
  args: {
    name: { ...casName, required: false },
    from: {
      type: "string",
      valueHint: "DIR|s3://BUCKET/PREFIX",
      description: "List the backup sets a directory or bucket holds (e.g. written elsewhere) instead of the catalog",
    },
    "s3-secret": s3Secret,
    refresh: {
      type: "boolean",
      description:
        "Rebuild the catalog from the backup sets in --from (default: <state dir>/backups) first, then list it",
    },
    limit: {
      type: "string",
      valueHint: "N",
      description: "At most N rows (default 100)",
      check: checkPositiveInt("limit"),
    },
  },
  run: lazyRun(dayTwo.backups),
});

const restore = command({
  meta: { name: "restore", description: "Create a new CAS from a backup" },
  args: {
    name: { ...casName, description: "Name of the new CAS (at most 15 characters)" },
    from: {
      type: "string",
      required: true,
      valueHint: "BACKUP",
      description: "Backup id (see `scone cas backups`), backup directory, or s3:// URL of a backup",
    },
    "s3-secret": s3Secret,
    "set-version": {
      type: "string",
      valueHint: "VERSION",
      description: "SCONE version of the new CAS (default: the backed-up CAS's)",
      check: checkVersion("set-version"),
    },
    "image-registry": {
      type: "string",
      valueHint: "URL",
      description: "Image repository (default: registry.scontain.com/scone.cloud)",
    },
    "image-prefix": imagePrefixArg,
    timeout,
  },
  notes: [
    "The backup is fetched and its checksums verified before anything is created; the new CAS and its database " +
      "volume must not exist. Rerun to continue an interrupted restore.",
  ],
  run: lazyRun(dayTwo.restore),
});

const status = command({
  meta: { name: "status", description: "Show the state of a CAS: phase, provisioning, backups, migration" },
  args: { name: casName },
  run: lazyRun(dayTwo.status),
});

const evict = command({
  meta: { name: "evict", description: "Move a CAS off its node (drain-safe eviction)" },
  args: {
    name: casName,
    node: { type: "string", valueHint: "NODE", description: "Node to move away from (default: the current node)" },
    timeout,
  },
  notes: [
    "Cordons the node, deletes pod NAME-0, waits until CAS is HEALTHY on another eligible node (same zone, " +
      "registered for backup, LAS and SGX labels, schedulable), uncordons. Refuses, naming each node's reasons, " +
      "when no node qualifies. Rerun to continue an interrupted move.",
  ],
  run: lazyRun(dayTwo.evict),
});

const audit = command({
  meta: { name: "audit", description: "Show the audit log of a CAS (upstream: kubectl audit cas)" },
  // The SCONE CLI verifies the log: the sconecli pod of the CAS, or a local SCONE CLI (src/cli/run/cas-driver.ts).
  globals: [...ALL_GLOBALS, "scone-cli"],
  args: {
    name: { ...casName, required: false, default: "cas" },
    follow: { type: "boolean", alias: "f", description: "Keep printing new entries" },
    search: { type: "string", valueHint: "WORDS", description: "Search the indexed entries for these words" },
    event: { type: "string", valueHint: "EVENT", description: "Only indexed entries of this event" },
    since: { type: "string", valueHint: "TIME", description: "Only indexed entries at or after TIME (RFC 3339)" },
    until: { type: "string", valueHint: "TIME", description: "Only indexed entries before TIME (RFC 3339)" },
    archive: {
      type: "string",
      valueHint: "DIR|s3://BUCKET/PREFIX",
      description:
        "Search the audit logs the operator shipped to this backup target (its bucket s3://BUCKET/scone-backups, " +
        "or a copy of its backup volume): the index, when it holds nothing of NAME, is rebuilt from the archive first",
    },
    limit: {
      type: "string",
      valueHint: "N",
      description: "Search: at most N rows (default 50)",
      check: checkPositiveInt("limit"),
    },
  },
  checks: (values) =>
    values.follow === true &&
    ["search", "event", "since", "until", "archive"].some((f) => typeof values[f] === "string")
      ? "--follow reads the log; --search/--event/--since/--until/--archive query the index: use one or the other"
      : undefined,
  // --from/--to name backup locations elsewhere; upstream `kubectl audit` has no time filters.
  renamed: { from: "since", to: "until" },
  notes: [
    "Reads `kubectl logs NAME-0 -c audit`, indexes the entries in the state store and has the SCONE CLI verify the " +
      "log (`scone cas verify-audit-log --cas CAS LOG`, in the sconecli pod of the CAS or with --scone-cli PATH): " +
      "its exit code is the verdict, printed with its meaning and details; exit 1 unless the log is correct " +
      "(CLI exit 0 or 10). With -f the log read until Ctrl-C is verified. --search and the filters query the index; " +
      "with --archive the index is first rebuilt from the shipped archive when it has nothing of NAME (S3 credentials " +
      "from AWS_* variables).",
  ],
  run: lazyRun(dayTwo.audit),
});

const admitOperator = command({
  meta: {
    name: "admit-operator",
    description: "Admit the operator's SCONE CLI identity to a CAS, as its owner (for SignedPolicy/EncryptedPolicy)",
  },
  globals: [...ALL_GLOBALS, ...CAS_DRIVER_GLOBALS],
  args: {
    name: casName,
    target: {
      type: "string",
      valueHint: "DIR",
      description: "Directory of the owner identity: DIR/identity/config.json (default: ~/.cas)",
    },
    session: {
      type: "string",
      valueHint: "NAME",
      description: "The admission session to create or update (default: scone-operator)",
      // SCONE-INTERFACE §12.3 session names; a leading '-' would read as an option of the CLI.
      check: (value: string) =>
        /^[A-Za-z0-9_.~][A-Za-z0-9_\-.~]{0,127}(\/[A-Za-z0-9_\-.~]{1,128})*$/.test(value)
          ? undefined
          : `invalid value '${value}' for --session: expected a session name (segments of A-Z a-z 0-9 _ - . ~ joined by /, not starting with -)`,
    },
  },
  notes: [
    "As the owner, creates or updates a session whose access_policy lists the operator identity's key hash under " +
      "read and create_sessions (update stays CREATOR), then has the operator's CLI attest the CAS pinned to the key " +
      "the owner attested. The operator identity is the one the operator uses: in the sconecli pod of the CAS, or " +
      "with --scone-cli under --state-dir.",
  ],
  run: lazyRun(dayTwo.admitOperator),
});

const report = command({
  meta: { name: "report", description: "Write a support bundle of a CAS (objects, status, Events, logs, versions)" },
  args: {
    name: casName,
    file: {
      type: "string",
      valueHint: "FILE",
      description: "Where the bundle goes, *.tar.gz or *.tgz (default: ./NAME-report-TIMESTAMP.tar.gz)",
      check: reportFileProblem,
    },
    "logs-since": {
      type: "string",
      valueHint: "DURATION",
      description: "Only log lines newer than this, e.g. 1h (default: all, at most 1 MiB per container log)",
      check: checkDuration("logs-since"),
    },
    force: { type: "boolean", description: "Replace --file if it exists" },
  },
  notes: [
    "The bundle (like `kubectl cnpg report`) holds the CAS and the objects it owns (StatefulSet, Service, pods, " +
      "PVCs, backup controller, ConfigMaps, ...), `scone cas status`, their Events, the logs of every container of " +
      "the CAS's pods and of the operator pods (the newest 1 MiB each, the previous run's too after a restart), the " +
      "operator's reconciles from the state store (if any) and the versions (as `scone version`). -o json|yaml " +
      "prints its table of contents (toc.yaml in the bundle).",
    "Secrets are never included. Env values, annotations, ConfigMap entries and arguments whose name or shape says " +
      "secret are redacted, and the values of the Secrets of the CAS's and the operator's namespaces are scrubbed " +
      "from every file (logs and Events too). The file is written with mode 0600.",
    "Example: scone cas report cas -n prod --logs-since 2h --file /tmp/cas-report.tar.gz",
  ],
  run: lazyRun(dayTwo.report),
});

export const casCommand = group({
  meta: { name: "cas", description: "Provision and operate SCONE CAS instances" },
  subCommands: {
    provision,
    upgrade,
    backup,
    backups,
    restore,
    status,
    evict,
    audit,
    report,
    "admit-operator": admitOperator,
  },
});
