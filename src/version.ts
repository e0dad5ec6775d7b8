// Build identity, fixed at compile time by build.ts (define), with source fallbacks for `bun run`.
export const SCONE_VERSION: string = process.env.SCONE_BUILD_VERSION ?? "0.1.0-dev";
export const SCONE_COMMIT: string = process.env.SCONE_BUILD_COMMIT ?? "source";
/** The SCONE release whose images are deployed when a resource names none (upstream GLOBAL_SCONE_VERSION). */
export const DEFAULT_SCONE_SERVICE_VERSION = "6.0.6";
