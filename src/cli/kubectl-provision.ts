// The `kubectl-provision` personality: when the binary is called as kubectl-provision (a symlink or copy on
// PATH, which is how kubectl finds plugins), it accepts the upstream plugin syntax
//   kubectl provision SVC [NAME] [flags]        SVC = cas | vault, NAME defaults to SVC
// and translates it into `scone cas provision NAME …` / `scone vault provision NAME …`.
// The one flag whose meaning differs: upstream `-o` is --owner-config (in scone, -o is --output).
import { DEFAULT_SCONE_SERVICE_VERSION } from "../version.ts";
import { CAS_NAME_MAX } from "./globals.ts";
import { DAY_TWO_MODES, dayTwoUses } from "./provision-day-two.ts";
import { CliError } from "./spec.ts";

export const KUBECTL_PROVISION = "kubectl-provision";

/** The name the binary was called by decides the personality (argv0 for a symlink, execPath for a copy). */
export function detectPersonality(invocation: {
  argv0?: string;
  execPath?: string;
  env?: Record<string, string | undefined>;
}): "scone" | "kubectl-provision" {
  if (invocation.env?.SCONE_PERSONALITY === KUBECTL_PROVISION) return KUBECTL_PROVISION;
  for (const path of [invocation.argv0, invocation.execPath]) {
    const base = path
      ?.split(/[\\/]/)
      .pop()
      ?.replace(/\.exe$/i, "");
    if (base === KUBECTL_PROVISION) return KUBECTL_PROVISION;
  }
  return "scone";
}

/** Upstream flags that take a value (long and short spellings), so NAME is not mistaken for a flag value. */
const VALUE_FLAGS = new Set([
  "-n",
  "--namespace",
  "-d",
  "--dcap-api",
  "--nonce",
  "-o",
  "--owner-config",
  "--target",
  "--webhook",
  "--manifests-dir",
  "--image-registry",
  "--image-prefix",
  "-f",
  "--filename",
  "--image-overwrite",
  "--set-version",
  "--cas-database-recovery",
  "--set-tolerations",
  "--set-toleration",
  "--upgrade",
  "--verify-image-signatures",
  "--cas-address",
  "--cas-client-port",
  "--local-cas-client-port",
  "--postprovision-owner-identity",
  "--cas",
  // scone's own: the global flags that take a value, --timeout, and vault's --mrenclave.
  "--kubeconfig",
  "--context",
  "--state-dir",
  "--log-level",
  "--output",
  "--timeout",
  "--mrenclave",
  "--scone-cli",
]);

/** Upstream spelling → scone spelling, where they differ. */
const RENAMED: Record<string, string> = {
  "-o": "--owner-config",
  "-v": "--verbose",
  "--set-toleration": "--set-tolerations",
};

/** Environment variables the upstream script reads, and the flag each one stands for. */
const ENV_FLAGS: [env: string, flag: string, aliases: string[]][] = [
  ["NAMESPACE", "--namespace", ["-n"]],
  ["DCAP_KEY", "--dcap-api", ["-d"]],
  ["VERSION", "--set-version", []],
  ["IMAGE_REPO", "--image-registry", []],
  ["IMAGE_PREFIX", "--image-prefix", []],
  ["TARGET_DIR", "--target", []],
  ["MANIFESTS_URL", "--manifests-dir", []],
];

export interface Translation {
  command: string[];
  warnings: string[];
}

/**
 * `cas NAME -n NS --dcap-api K …` → `cas provision NAME -n NS --dcap-api K …`. Flags keep their order and
 * their values; scone's validator then checks them as for `scone cas provision`. Throws CliError for a
 * missing or unknown SVC and for CAS names longer than 15 characters.
 */
export function translateKubectlProvisionArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): Translation {
  const flags: string[] = [];
  const positionals: string[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const [name, inline] = splitInline(token);
    const target = RENAMED[name] ?? name;
    flags.push(inline === undefined ? target : `${target}=${inline}`);
    if (inline === undefined && VALUE_FLAGS.has(name) && i + 1 < argv.length) flags.push(argv[++i] as string);
  }

  const [svc, name, ...extra] = positionals;
  if (svc === undefined)
    throw new CliError("missing SVC: expected 'cas' or 'vault' (kubectl provision SVC [NAME] [flags])");
  if (svc !== "cas" && svc !== "vault") throw new CliError(`unknown SVC '${svc}': expected 'cas' or 'vault'`);
  const resolvedName = name ?? svc;
  if (svc === "cas" && resolvedName.length > CAS_NAME_MAX) {
    throw new CliError(`CAS name '${resolvedName}' is too long: at most ${CAS_NAME_MAX} characters are allowed`);
  }

  // With --upgrade, --local-backup or --cas-database-recovery only the variables that operation uses stand for
  // flags: DCAP_KEY or TARGET_DIR set in the shell must not make `--upgrade` refuse a flag nobody typed.
  const dayTwo = DAY_TWO_MODES.find((mode) => flags.some((f) => f.split("=")[0] === `--${mode}`));
  for (const [variable, flag, aliases] of ENV_FLAGS) {
    const value = env[variable];
    if (value === undefined || value === "") continue;
    if (svc === "cas" && dayTwo && !dayTwoUses(dayTwo, flag.slice(2))) continue;
    const given = flags.some((f) => [flag, ...aliases].includes(f.split("=")[0] as string));
    if (given) continue;
    flags.push(flag, value);
    warnings.push(`using ${flag} ${variable === "DCAP_KEY" ? "[redacted]" : value} from ${variable}`);
  }

  return { command: [svc, "provision", resolvedName, ...extra, ...flags], warnings };
}

function splitInline(token: string): [string, string | undefined] {
  const eq = token.indexOf("=");
  return eq > 0 ? [token.slice(0, eq), token.slice(eq + 1)] : [token, undefined];
}

/** What `kubectl provision --version` prints: the SCONE release it provisions, as upstream tooling compares it. */
export function pluginVersion(): string {
  return DEFAULT_SCONE_SERVICE_VERSION;
}

export function kubectlProvisionUsage(): string {
  return `kubectl provision SVC [NAME] [options]

Provisions a SCONE service ('scone cas provision' in the kubectl plugin syntax).
  SVC    cas (or vault, deprecated)
  NAME   name of the service (default: SVC); CAS names have at most ${CAS_NAME_MAX} characters

Options:
  -n, --namespace NS              namespace of the service (default: default)
  -d, --dcap-api KEY              Intel DCAP/PCS API key
  -o, --owner-config FILE|URL     custom CAS owner config (upstream meaning of -o)
      --nonce HEX32               provisioning nonce (default: random)
      --target DIR                directory for identities and owner config (default: ~/.cas)
      --no-backup                 provision without the backup controller
      --webhook URL               send the audit log to URL
      --wait                      wait until the service is HEALTHY
      --manifests-dir DIR|URL     base location of the default manifests
      --image-registry URL        image repository
  -f, --filename FILE|URL         replace the manifest patch
      --set-version VERSION       SCONE version (default: ${DEFAULT_SCONE_SERVICE_VERSION})
      --is-provisioned            exit 0 iff the CAS is provisioned
      --verify                    check that the CAS is attestable and provisioned
      --print-public-keys         print the CAS public keys
      --preprovision-only         create an unprovisioned CAS, print key hash and token
      --postprovision-only        only upload sessions and enable probes/backup
      --local-backup              back up the last snapshot into ./cas-database-snapshots
      --cas-database-recovery DIR create a new CAS from a snapshot directory (cas.db, cas.key-store)
      --upgrade VERSION           upgrade the CAS (--set-version, if given, must name the current one)
      --force                     with --upgrade: upgrade even an unhealthy CAS
      --image-overwrite IMAGE     non-standard CAS image
      --set-tolerations FLAGS     attestation tolerations
      --verify-image-signatures K refused: scone operator install verifies them
      --no-image-signature-check  skip image signature checks
      --cas-address ADDR, --cas-client-port PORT, --local-cas-client-port PORT
      --no-docker                 run the local SCONE CLI (/opt/scone/bin/rust-cli or scone on PATH)
  -v, --verbose                   verbose output
      --debug                     debug output
      --help                      this text
      --version                   print the plugin version

Environment: NAMESPACE, DCAP_KEY, VERSION, IMAGE_REPO, TARGET_DIR, MANIFESTS_URL stand for the flags above.
This is scone answering as kubectl-provision; see 'scone cas provision --help' for the full description.
`;
}
