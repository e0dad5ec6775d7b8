// Enclave API (port 18765) [simulated]. Real SCONE services reach it with an SGX quote over an attested channel whose
// protocol is unpublished. The simulator offers one plain-HTTP call with the same effect for demos and tests:
// POST /v1/enclave/attest {"session": NAME, "service": NAME} → the service's environment with secrets resolved,
// and a `service_attested` audit entry.
import type { CasCore } from "./core.ts";

export function startEnclaveServer(host: string, port: number, core: CasCore): { port: number; stop(): void } {
  const server = Bun.serve({
    hostname: host,
    port,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method !== "POST" || pathname !== "/v1/enclave/attest") {
        return Response.json({ msg: [`no route ${request.method} ${pathname}`] }, { status: 404 });
      }
      const body = (await request.json().catch(() => undefined)) as
        | { session?: unknown; service?: unknown }
        | undefined;
      if (typeof body?.session !== "string" || typeof body.service !== "string") {
        return Response.json({ msg: ["expected {session, service}"] }, { status: 400 });
      }
      const answer = await core.attestService(body.session, body.service);
      return Response.json(answer.body, { status: answer.status });
    },
  });
  return { port: server.port ?? port, stop: () => void server.stop(true) };
}
