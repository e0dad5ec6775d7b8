// Small string helpers for text from outside, written without regular expressions that backtrack.

/**
 * `text` without its trailing slashes. (`/\/+$/` retries from every slash of a long run: quadratic, so a
 * kubeconfig server or a policy's casAddress of many slashes stalled the process for minutes.)
 */
export function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(0, end);
}
