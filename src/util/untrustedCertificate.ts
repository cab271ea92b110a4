/**
 * Whether a TLS error `code` (a fetch failure's `cause.code`) means Node does not trust the server's
 * certificate: self-signed (`start --tls-self-signed`) or from an unknown authority. The CLI commands
 * then say how to trust it: `NODE_EXTRA_CA_CERTS=<the server's cert.pem>`, read by Node at start-up.
 */
export function untrustedCertificate(code: string | undefined): boolean {
  return code !== undefined && /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
