// Whether a listen address stays on this machine: 127.0.0.0/8, ::1 and localhost. Anything else (0.0.0.0, ::, a
// host name, an interface address) can be reached over a network. No imports: the CLI's command tree loads it.
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
