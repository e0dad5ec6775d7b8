// Free loopback ports for processes that bind them later (seconds later: kwok binds its port only once the API
// server is ready). Picked at random BELOW the kernel's ephemeral range (ip_local_port_range): bind(0) and outgoing
// connections of every process on the machine draw from that range, so a port handed out from it can be taken by
// any of them before our component binds it. A port below it is only taken by someone picking the same one.
// Each candidate is checked by binding it; all listeners stay open until every port is known, so one call never
// hands out the same port twice.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

/** Lowest port considered: below are registered services more likely to be in use on a developer machine. */
const LOWEST = 10_000;
/** With fewer ports than this below the ephemeral range, fall back to asking the OS (bind to port 0). */
const MIN_POOL = 1_000;
const ATTEMPTS_PER_PORT = 50;

/** The first port of the ephemeral range from /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function ephemeralRangeStart(text: string): number | undefined {
  const low = Number(text.trim().split(/\s+/)[0]);
  return Number.isSafeInteger(low) && low > 0 && low < 65_536 ? low : undefined;
}

/** The ports to pick from: [LOWEST, start of the ephemeral range), or undefined when that pool is too small. */
export function pickablePorts(ephemeralStart: number | undefined): { from: number; to: number } | undefined {
  if (ephemeralStart === undefined || ephemeralStart - LOWEST < MIN_POOL) return undefined;
  return { from: LOWEST, to: ephemeralStart - 1 };
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined)); // taken (or not allowed): try another
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("listener has no TCP port");
  return address.port;
}

function readEphemeralStart(): number | undefined {
  try {
    return ephemeralRangeStart(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"));
  } catch {
    return undefined; // not Linux: the OS picks
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const pool = pickablePorts(readEphemeralStart());
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      let server: Server | undefined;
      for (let attempt = 0; pool && !server && attempt < ATTEMPTS_PER_PORT; attempt++) {
        const port = pool.from + Math.floor(Math.random() * (pool.to - pool.from + 1));
        if (!servers.some((held) => portOf(held) === port)) server = await listen(port);
      }
      server ??= await listen(0);
      if (!server) throw new Error("no free loopback port (binding 127.0.0.1:0 failed)");
      servers.push(server);
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error("no free loopback port");
  return port;
}
