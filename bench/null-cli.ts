// A null SCONE CLI for bench/policies.ts: answers the commands the policy controllers' driver runs with canned output
// of the documented shapes and does no work (no config, no CAS, nothing checked). Compiled, it shows the CAS driver's
// own cost per call (runner, spawn, a process that only starts and prints) apart from the CLI's. A lower bound for
// the bench, never a stand-in for SCONE: it accepts every session.
const KEY_HASH = "3PNKvH2izknsq6bF9digNJJx4GeDgpmp9Xe5oKbN3KTqXtzjTf";
const argv = process.argv.slice(2);
const [a, b] = argv;

function answer(): [string, number] {
  if (a === "--version") return ["scone 7.0.0", 0];
  switch (`${a} ${b}`) {
    case "self show-key-hash":
      return [KEY_HASH, 0];
    case "cas show-identification":
      return argv.includes("--cas-key") ? [KEY_HASH, 0] : ["", 1];
    case "session create":
    case "session update":
      // A distinct 64-hex "hash" per call (the pid), so no two policies share one.
      return [process.pid.toString(16).padStart(64, "0"), 0];
    case "session read":
      return ["", 2];
    default:
      return ["", 2];
  }
}

const [text, code] = answer();
if (text) console.write(`${text}\n`);
process.exitCode = code;
