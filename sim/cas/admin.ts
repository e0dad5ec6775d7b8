// Simulator-only admin API for tests, on its own loopback port (never the client API): freeze and thaw the client
// API, crash the process, read a little state. Plain HTTP on loopback — not part of any CAS interface.
import type { Gate } from "./http.ts";

export interface AdminHooks {
  readonly gate: Gate;
  readonly state: () => Record<string, unknown>;
}

export function startAdminServer(host: string, port: number, hooks: AdminHooks): { port: number; stop(): void } {
  const server = Bun.serve({
    hostname: host,
    port,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method === "POST" && pathname === "/sim/pause") {
        hooks.gate.pause();
        return Response.json({ paused: true });
      }
      if (request.method === "POST" && pathname === "/sim/resume") {
        hooks.gate.resume();
        return Response.json({ paused: false });
      }
      if (request.method === "POST" && pathname === "/sim/crash") {
        // SIGKILL ourselves right after answering: no audit entry, no cleanup — what a crash looks like.
        setTimeout(() => process.kill(process.pid, "SIGKILL"), 10);
        return Response.json({ crashing: true });
      }
      if (request.method === "GET" && pathname === "/sim/state") {
        return Response.json({ paused: hooks.gate.paused, ...hooks.state() });
      }
      return Response.json({ msg: [`no route ${request.method} ${pathname}`] }, { status: 404 });
    },
  });
  return { port: server.port ?? port, stop: () => void server.stop(true) };
}
