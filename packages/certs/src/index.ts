/**
 * `@pfedlora/certs`: the federation's small PKI as a library (docs/security.md).
 * `pfedlora certs init|issue|revoke` parses its flags and calls these.
 */
export * from './certificate-authority';
