// The node label that records a registered backup CAS, as the provider's procedure documents it (SCONE-STACK.md
// "Moving CAS off a node"): the backup controller sets `cas-registered-<cas name>.<cas namespace>-<SCONE version>`
// to "true" on a node once it registered a backup CAS there (example: `cas-registered-cas.osc-scone-system-5.8.0`).
// The simulated backup controller writes it, the simulated CAS pod reads it; test/unit/sim/kwok-cas/registration.test.ts
// checks it against the documented example, not against scone's code.

export function backupRegistrationLabel(namespace: string, name: string, version: string): string {
  return `cas-registered-${name}.${namespace}-${version}`;
}
