// A real S3 server on loopback for tests and demos: versitygw (posix backend) built by hack/s3/s3-binaries.sh,
// listening on a free 127.0.0.1 port with random root credentials, storing buckets as directories in `dataDir`.
// Buckets are created with a SigV4-signed CreateBucket request (Bun's S3 client has no bucket operations).
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../cluster/ports.ts";

const HERE = import.meta.dir;

export interface S3Server {
  /** http://127.0.0.1:PORT (path-style requests). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Creates the bucket; one that exists already is fine. */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the server on first use (cached, flock'ed) and returns the binary's path. */
export async function s3ServerBinary(): Promise<string> {
  const build = Bun.spawn(["bash", join(HERE, "s3-binaries.sh")], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
    build.exited,
  ]);
  const path = out.trim().split("\n").at(-1);
  if (code !== 0 || !path) throw new Error(`hack/s3/s3-binaries.sh failed (exit ${code}): ${err.trim()}`);
  return path;
}

export interface StartS3ServerOptions {
  dataDir: string;
  /** Kill the server (and remove dataDir) when this process dies without stopping it. */
  ownerPid?: number;
  binary?: string;
  startTimeoutMs?: number;
}

export async function startS3Server(options: StartS3ServerOptions): Promise<S3Server> {
  const binary = options.binary ?? (await s3ServerBinary());
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const accessKeyId = `scone${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const region = "us-east-1";
  // The port can be taken between probing and binding: try a few. (freePorts picks below the ephemeral range,
  // where no bind(0) or outgoing connection of another process lands.)
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = Bun.spawn(
      [
        binary,
        "--port",
        `127.0.0.1:${port}`,
        "--region",
        region,
        "--health",
        "/health",
        "--quiet",
        "posix",
        "--dir-perms",
        "0700",
        "--file-perms",
        "0600",
        options.dataDir,
      ],
      {
        // Credentials through the environment, not argv (ps shows argv to every user).
        env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    // Drain stderr (a full pipe would block the server); keep the tail for error messages.
    let stderrTail = "";
    void (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderrTail = (stderrTail + chunk).slice(-4096);
      }
    })();
    const endpoint = `http://127.0.0.1:${port}`;
    // Generous: the first start on a busy CI machine also pays for loading the binary.
    const ready = await waitHealthy(endpoint, child, () => stderrTail, options.startTimeoutMs ?? 60_000);
    if (ready !== true) {
      child.kill("SIGKILL");
      lastError = ready;
      continue;
    }
    if (options.ownerPid !== undefined) {
      const watchdog = Bun.spawn(
        ["/bin/sh", join(HERE, "watchdog.sh"), String(options.ownerPid), String(child.pid), options.dataDir],
        { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
      );
      watchdog.unref();
    }
    return makeServer({ child, endpoint, accessKeyId, secretAccessKey, region, dataDir: options.dataDir });
  }
  throw new Error(`S3 server (versitygw) did not start: ${lastError}`);
}

async function waitHealthy(
  endpoint: string,
  child: Subprocess,
  stderr: () => string,
  timeoutMs: number,
): Promise<true | string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await Bun.sleep(50); // let the last stderr chunk arrive
      return `exited with ${child.exitCode ?? child.signalCode}: ${stderr().trim()}`;
    }
    const ok = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    // An answer while our server has exited came from another one that holds the port: not ours.
    if (ok && child.exitCode === null && child.signalCode === null) return true;
    await Bun.sleep(50);
  }
  return `no answer on ${endpoint}/health within ${timeoutMs} ms`;
}

function makeServer(s: {
  child: Subprocess;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
}): S3Server {
  let stopped: Promise<void> | undefined;
  const onExit = () => s.child.kill("SIGKILL");
  process.on("exit", onExit);
  return {
    endpoint: s.endpoint,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
    region: s.region,
    dataDir: s.dataDir,
    pid: s.child.pid,
    async createBucket(name) {
      const response = await signedRequest(s, "PUT", `/${name}`);
      // 409 BucketAlreadyOwnedByYou: created before, by us.
      if (response.status === 200 || response.status === 409) return;
      throw new Error(`CreateBucket ${name}: ${response.status} ${await response.text()}`);
    },
    stop() {
      stopped ??= (async () => {
        process.off("exit", onExit);
        s.child.kill("SIGTERM");
        const exited = await Promise.race([s.child.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
        if (!exited) {
          s.child.kill("SIGKILL");
          await s.child.exited;
        }
      })();
      return stopped;
    },
  };
}

/** AWS Signature Version 4 for a request without a body (enough for CreateBucket). */
function signedRequest(
  s: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string },
  method: string,
  path: string,
): Promise<Response> {
  const url = new URL(path, s.endpoint);
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const day = amzDate.slice(0, 8);
  const payloadHash = createHash("sha256").update("").digest("hex");
  const headers: Record<string, string> = {
    host: url.host,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate,
  };
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((h) => `${h}:${headers[h]}\n`).join("");
  const canonical = [method, url.pathname, "", canonicalHeaders, names.join(";"), payloadHash].join("\n");
  const scope = `${day}/${s.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  let key = createHmac("sha256", `AWS4${s.secretAccessKey}`).update(day).digest();
  for (const part of [s.region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const authorization = `AWS4-HMAC-SHA256 Credential=${s.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return fetch(url, { method, headers: { ...headers, authorization } });
}
