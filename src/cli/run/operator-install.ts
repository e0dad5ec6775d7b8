// `scone operator install`: maps the flags to the install flow (src/flows/install) and prints its steps.
// Exit codes: 0 = nothing differs (or everything was applied), 3 = report mode found differences, 1 = error.

import { openKube } from "../flags.ts";
import { isData, renderData } from "../output.ts";
import { CliError, EXIT_USAGE, type SconeContext } from "../spec.ts";

export async function run(ctx: SconeContext): Promise<void> {
  const [{ installOptionsFromFlags, InstallOptionError }, { runInstall }, report] = await Promise.all([
    import("../../flows/install/options.ts"),
    import("../../flows/install/execute.ts"),
    import("../../flows/install/report.ts"),
  ]);
  const a = ctx.args;
  let options: import("../../flows/install/options.ts").InstallFlowOptions;
  try {
    options = installOptionsFromFlags(a);
  } catch (e) {
    if (e instanceof InstallOptionError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const data = isData(a.output) ? a.output : undefined;
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const policy = await signaturePolicyOf(a);
  // Before anything is applied: every image the install deploys is cosign-verified (report mode applies nothing).
  const verified = options.mode !== "report" ? await verifyImages(policy, options) : [];
  if (options.pinDigests) options = await pinned(options, verified);
  const client = await openKube(a);

  const outcome = await runInstall(client, options, {
    progress: {
      step: (step, done) => {
        if (data) return;
        for (const line of report.stepLines(step, { done, verbose: options.verbose, colour }))
          process.stdout.write(`${line}\n`);
      },
      pullCheck: (check) => {
        if (!data) process.stdout.write(`${report.pullCheckLine(check)}\n`);
      },
      warn: (message) => process.stderr.write(`warning: ${message}\n`),
      waiting: (what) => {
        if (!data) process.stderr.write(`waiting for ${what} (up to ${options.timeoutSeconds}s)\n`);
      },
    },
  });

  if (data) process.stdout.write(renderData(data, report.outcomeJson(outcome)));
  else process.stdout.write(`${report.summaryLine(outcome)}\n`);
  if (outcome.mode === "report" && outcome.differs) {
    throw new CliError(
      "the cluster differs from the desired state (exit code 3); run again with --reconcile to fix it",
      report.EXIT_DIFFERS,
    );
  }
}

type Policy = import("../../images/signature/policy.ts").SignaturePolicy;

/** The key from the flags, checked in every mode (a bad key file is a usage error even when only reporting). */
async function signaturePolicyOf(a: SconeContext["args"]): Promise<Policy> {
  const { signatureFlags, signaturePolicy, SignaturePolicyError } = await import("../../images/signature/policy.ts");
  try {
    return signaturePolicy(signatureFlags(a));
  } catch (e) {
    if (e instanceof SignaturePolicyError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

async function verifyImages(
  policy: Policy,
  o: import("../../flows/install/options.ts").InstallFlowOptions,
): Promise<readonly import("../../images/signature/verify.ts").VerifiedImage[]> {
  const [{ checkInstallImagesVerified }, { ImagesRefusedError }] = await Promise.all([
    import("../../images/signature/install-check.ts"),
    import("../../images/signature/check-images.ts"),
  ]);
  try {
    const c = o.credentials;
    const { line, verified } = await checkInstallImagesVerified(
      policy,
      {
        version: o.version,
        imageRegistry: o.imageRegistry,
        imagePrefix: o.imagePrefix,
        operatorImage: o.operatorImage,
        withOperator: o.localOperator === undefined,
      },
      c ? { registry: c.registry, username: c.username, password: c.accessToken } : undefined,
    );
    process.stderr.write(`${line}\n`);
    return verified;
  } catch (e) {
    if (e instanceof ImagesRefusedError)
      throw new CliError(
        `nothing was applied: ${e.refusals.length} image(s) failed the signature check:\n${e.message}`,
        undefined,
        "sign them (cosign sign --key KEY IMAGE), give the key they are signed with (--verify-image-signatures KEY), or skip the check (--no-image-signature-check)",
      );
    throw e;
  }
}

/** --pin-digests: the operator image and the SCONE images by digest (the verified digests when checked). */
async function pinned(
  o: import("../../flows/install/options.ts").InstallFlowOptions,
  verified: readonly import("../../images/signature/verify.ts").VerifiedImage[],
): Promise<import("../../flows/install/options.ts").InstallFlowOptions> {
  const [{ pinDigests }, { listImages }] = await Promise.all([
    import("../../images/airgap/pin.ts"),
    import("../../install/images.ts"),
  ]);
  const list = listImages(o.version, o.imageRegistry, o.imagePrefix);
  const c = o.credentials;
  try {
    const p = await pinDigests({
      operatorImage: o.localOperator === undefined ? (o.operatorImage ?? list.operator.image) : undefined,
      services: list.services,
      verified,
      ...(c ? { credentials: { registry: c.registry, username: c.username, password: c.accessToken } } : {}),
    });
    process.stderr.write(
      `pinned by digest: ${[p.operatorImage, ...Object.entries(p.imageDigests).map(([k, d]) => `${k}@${d}`)].filter(Boolean).join(", ")}\n`,
    );
    return { ...o, ...(p.operatorImage ? { operatorImage: p.operatorImage } : {}), imageDigests: p.imageDigests };
  } catch (e) {
    throw new CliError(`nothing was applied: ${e instanceof Error ? e.message : String(e)}`);
  }
}
