// @peculiar/x509 needs the reflect-metadata polyfill installed before it loads (its tsyringe container reads
// Reflect.getMetadata at import). Static imports in that order are not enough once compiled: Bun's bundler
// initialises the ESM tsyringe before the CommonJS polyfill, and the binary dies with "tsyringe requires a reflect
// polyfill". Loading both here, one after the other, keeps the order in every build. Modules that need X.509 use
// `const x509 = await loadX509()` (or top-level await) and `import type * as X509` for types.
import type * as X509 from "@peculiar/x509";

let loading: Promise<typeof X509> | undefined;

export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(crypto);
    return x509;
  })();
  return loading;
}
