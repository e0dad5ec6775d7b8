import { SCONE_COMMIT, SCONE_VERSION } from "./version.ts";
console.log(`scone ${SCONE_VERSION} (${SCONE_COMMIT})`);
