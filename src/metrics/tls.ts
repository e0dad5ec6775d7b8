// The certificate of /metrics with --metrics-secure: tls.crt and tls.key from --metrics-cert-dir (e.g. a mounted
// cert-manager Secret), else a self-signed one made at start, as controller-runtime does; Prometheus then scrapes
// with `insecureSkipVerify` or the mounted CA. The token check (auth.ts) is what keeps the metrics private.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

export interface MetricsTls {
  readonly cert: string;
  readonly key: string;
}

export async function metricsTls(certDir: string | undefined, now = new Date()): Promise<MetricsTls> {
  if (certDir) {
    const read = async (file: string) => {
      try {
        return await readFile(join(certDir, file), "utf8");
      } catch (e) {
        throw new Error(
          `--metrics-cert-dir ${certDir}: cannot read ${file} (${e instanceof Error ? e.message : e}): give a directory with tls.crt and tls.key, or leave the flag out for a self-signed certificate`,
        );
      }
    };
    return { cert: await read("tls.crt"), key: await read("tls.key") };
  }
  // Loaded only here: pki.ts loads the X.509 library at import.
  const { createCa, createServingCert } = await import("../operator/certs/pki.ts");
  const ca = await createCa("scone-operator-metrics-ca", { now });
  const serving = await createServingCert(ca, { dns: [hostname(), "localhost"], ips: ["127.0.0.1"] }, { now });
  return { cert: serving.certPem, key: serving.keyPem };
}
