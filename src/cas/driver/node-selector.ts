// `--cli-node-selector KEY=VALUE[,KEY=VALUE…]`: the nodes a CAS's SCONE CLI pod may be created on (pure). One
// grammar for every command that takes it (the CAS commands, `scone api`, `scone operator`, `scone operator
// install`), so a value the installer renders into the operator's args is one the operator accepts.
import { dnsSubdomain } from "../../resources/grammar.ts";

export const CLI_NODE_SELECTOR_FLAG = "cli-node-selector";
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const FIX = "give KEY=VALUE[,KEY=VALUE…], e.g. kubernetes.io/hostname=node-1";

/** The selector, or a message naming the flag, the bad part and the fix. */
export function parseCliNodeSelector(
  text: string,
): { readonly selector: Readonly<Record<string, string>> } | { readonly problem: string } {
  const bad = (why: string) => ({ problem: `invalid value '${text}' for --${CLI_NODE_SELECTOR_FLAG}: ${why}; ${FIX}` });
  if (text === "") return bad("it is empty");
  const selector: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 0) return bad(`'${pair}' has no '='`);
    const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if ((prefix !== undefined && dnsSubdomain(prefix) !== undefined) || !LABEL_NAME.test(name))
      return bad(
        `'${key}' is not a label key ([DNS-subdomain/]name, the name at most 63 letters, digits, '-', '_', '.')`,
      );
    if (!LABEL_VALUE.test(value))
      return bad(`'${value}' (of ${key}) is not a label value (at most 63 letters, digits, '-', '_', '.')`);
    if (key in selector) return bad(`${key} is given twice`);
    selector[key] = value;
  }
  return { selector };
}

/** The flag's value in the form parseCliNodeSelector reads: `k=v,k2=v2`, keys sorted (the rendered args are stable). */
export function formatCliNodeSelector(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(",");
}

/** For callers past the flag check (it refused malformed values already): the selector, or an Error naming the flag. */
export function cliNodeSelector(text: string | undefined): Readonly<Record<string, string>> | undefined {
  if (text === undefined) return undefined;
  const r = parseCliNodeSelector(text);
  if ("problem" in r) throw new Error(r.problem);
  return r.selector;
}
