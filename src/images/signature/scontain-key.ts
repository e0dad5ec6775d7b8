// The cosign public key the upstream SCONE installer (operator_controller / kubectl-provision) embeds and verifies
// Scontain's images with (SCONE-INTERFACE §10.1): scone's default key. Signatures carried into a mirror with their
// images (same digests) still verify with it; a mirror that re-signs gives its own key (--verify-image-signatures).

export const SCONTAIN_KEY_NAME = "the Scontain cosign key (built in)";

export const SCONTAIN_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErLf0HT8xZlLaoX5jNN8aVL1Yrs+P
wS7K6tXeRlWLlUX1GeEtTdcuhZMKb5VUNaWEJW2ZU0YIF91D93dCZbUYpw==
-----END PUBLIC KEY-----
`;
