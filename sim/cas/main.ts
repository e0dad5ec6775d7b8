// SCONE CAS simulator — a stand-alone process that behaves like a CAS as far as SCONE documents it (see README.md),
// for tests and the demo. NOT production code: nothing under src/ imports it; scone reaches it over the network
// exactly as it reaches a real CAS.
//   bun sim/cas/main.ts --listen 127.0.0.1:8081 --enclave-listen 127.0.0.1:18765 --data-dir DIR \
//     --snapshot-dir DIR --snapshot-interval 60s --version 6.0.6 --audit-log FILE [--admin-listen 127.0.0.1:PORT]

import { randomBytes } from "node:crypto";
import { startAdminServer } from "./admin.ts";
import { createRouter } from "./api.ts";
import { ArgsError, parseArgs, type SimArgs } from "./args.ts";
import { AuditLog } from "./audit-log.ts";
import { hex } from "./codec.ts";
import { CasCore, parseOwnerConfig } from "./core.ts";
import { startEnclaveServer } from "./enclave.ts";
import { Gate, type HttpRequest, startTlsHttpServer } from "./http.ts";
import { generateKeyStore, issueServerCert, loadKeys } from "./keys.ts";
import { defaultEnclave } from "./report.ts";
import { Snapshotter } from "./snapshots.ts";
import { DataDir, emptyDb } from "./store.ts";

async function run(args: SimArgs): Promise<void> {
  const dataDir = new DataDir(args.dataDir);
  const recovered = dataDir.applyRecovery();
  let store = dataDir.readKeyStore();
  if (!store) {
    store = await generateKeyStore([...args.sans, args.listen.host]);
    dataDir.writeKeyStore(store);
  }
  const dbKey = store.db_key;
  const keys = await loadKeys(store);
  let db = dataDir.readDb(dbKey);
  if (!db) {
    db = emptyDb();
    dataDir.writeDb(db, dbKey);
  }

  const audit = new AuditLog(args.auditLog, keys.auditKey, args.auditStdout);
  const core = new CasCore(db, keys, args.version, (next) => dataDir.writeDb(next, dbKey), audit);
  const measured = defaultEnclave(args.version);
  core.enclave = {
    identity: {
      mrenclave: args.enclave.mrenclave ?? measured.mrenclave,
      mrsigner: args.enclave.mrsigner ?? measured.mrsigner,
      isvprodid: args.enclave.isvprodid ?? measured.isvprodid,
      isvsvn: args.enclave.isvsvn ?? measured.isvsvn,
      tcb_status: args.enclave.tcbStatus ?? measured.tcb_status,
      debug: false,
    },
    software_key: !args.noSoftwareKey,
  };
  const ownerConfig = db.owner ? parseOwnerConfig(db.owner.config) : undefined;
  if (typeof ownerConfig === "object" && ownerConfig.auditMode === "disabled") audit.off();
  if (typeof ownerConfig === "object" && ownerConfig.auditSink === "network") {
    audit.setNetworkSink(ownerConfig.auditUrl, ownerConfig.auditServerCa);
  }
  if (audit.fresh) {
    await audit.log("audit_log_enabled", {
      audit_public_key: hex(keys.auditKey.publicKey),
      cas_key_hash: keys.casKeyHash,
      mode: "signed",
    });
  }
  await audit.log("audit_log_attestation_report", { report: await core.report(randomBytes(16).toString("hex")) });
  await audit.log("cas_started", { version: args.version, cas_key_hash: keys.casKeyHash, recovered });

  // Console lines in the shape SCONE's tooling parses: the value is the LAST whitespace-separated field.
  console.log(`CAS simulator ${args.version} (simulated: no SGX enclave)`);
  console.log(`CAS key hash ${keys.casKeyHash}`);
  if (!args.noSoftwareKey) console.log(`CAS software key hash ${keys.softwareKeyHash}`);
  console.log(`CAS session encryption key ${keys.sessionEncryptionKey}`);
  if (db.provisioning_token !== null) console.log(`CAS provisioning token ${db.provisioning_token}`);

  const gate = new Gate();
  const route = createRouter(core);
  let requests = 0;
  const handler = async (request: HttpRequest) => {
    requests += 1;
    if (args.failAfter !== undefined && requests > args.failAfter) {
      gate.pause();
      await gate.whenOpen();
    }
    return route(request);
  };
  const api = await startTlsHttpServer({
    host: args.listen.host,
    port: args.listen.port,
    certChain: `${store.tls.server_cert.trim()}\n${store.tls.ca_cert.trim()}\n`,
    key: store.tls.server_key,
    handler,
    gate,
  });
  core.onApiNames = async (names) => {
    const current = store;
    if (!current) return;
    const server = await issueServerCert({ certPem: current.tls.ca_cert, keyPem: current.tls.ca_key }, [
      ...args.sans,
      args.listen.host,
      ...names,
    ]);
    store = { ...current, tls: { ...current.tls, server_cert: server.certPem, server_key: server.keyPem } };
    dataDir.writeKeyStore(store);
    api.setCertificate(`${server.certPem.trim()}\n${current.tls.ca_cert.trim()}\n`, server.keyPem);
  };
  const enclave = startEnclaveServer(args.enclaveListen.host, args.enclaveListen.port, core);
  const admin = args.adminListen
    ? startAdminServer(args.adminListen.host, args.adminListen.port, {
        gate,
        state: () => ({
          provisioned: core.state.owner !== null,
          sessions: Object.keys(core.state.sessions).length,
          requests,
        }),
      })
    : undefined;

  let snapshotTimer: ReturnType<typeof setInterval> | undefined;
  if (args.snapshotDir) {
    const snapshotter = new Snapshotter(args.dataDir, args.snapshotDir);
    core.snapshotStatus = () => snapshotter.status;
    snapshotTimer = setInterval(() => {
      try {
        const result = snapshotter.takeIfChanged();
        if (result.taken) console.log(`CAS database snapshot written ${result.dir}`);
      } catch (err) {
        // Documented CAS behaviour: a failed snapshot stops the CAS with a non-zero exit code.
        console.error(`CAS database snapshot failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(3);
      }
    }, args.snapshotIntervalMs);
  }

  console.log(`CAS client API listening on ${args.listen.host}:${api.port}`);
  console.log(`CAS enclave API listening on ${args.enclaveListen.host}:${enclave.port}`);
  if (admin) console.log(`CAS simulator admin listening on ${args.adminListen?.host}:${admin.port}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (snapshotTimer) clearInterval(snapshotTimer);
    gate.resume();
    await audit.log("cas_exited", { signal });
    await audit.flush();
    enclave.stop();
    admin?.stop();
    await Promise.race([api.close(), Bun.sleep(1000)]);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

try {
  await run(parseArgs(process.argv.slice(2)));
} catch (err) {
  console.error(
    err instanceof ArgsError ? err.message : `CAS simulator failed: ${err instanceof Error ? err.stack : String(err)}`,
  );
  process.exit(2);
}
