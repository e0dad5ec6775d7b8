// Loading modules other workstreams write: until a module exists, the build still succeeds and the
// command says "not implemented yet" instead of crashing. Only a missing *target* module counts as absent;
// a module that exists but fails (or lacks a dependency) is a real error and propagates.
/** `pathSuffix` is the tail of the import specifier, e.g. "operator/run.ts". */
export function isModuleMissing(error: unknown, pathSuffix: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  const notFound = code === "ERR_MODULE_NOT_FOUND" || /Cannot find module|Could not resolve/.test(error.message);
  return notFound && error.message.includes(pathSuffix);
}
