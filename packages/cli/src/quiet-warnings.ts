/**
 * grpc-js passes the host of a TLS target as the TLS ServerName (SNI) even
 * when it is an IP address (`--coordinator 127.0.0.1:7070`), and Node then
 * prints deprecation DEP0123 on every connection. It is harmless here: the
 * coordinator does not use SNI, and the certificate is still checked against
 * the IP (its IP SAN). Only that one warning is dropped; every other warning
 * still prints.
 */
const DROPPED = new Set(['DEP0123']);

function warningCode(args: readonly unknown[]): string | undefined {
  const [typeOrOptions, code] = args;
  if (typeof typeOrOptions === 'object' && typeOrOptions !== null) return (typeOrOptions as { code?: string }).code;
  return typeof code === 'string' ? code : undefined;
}

let installed = false;

export function quietIpServernameWarning(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...args: unknown[]) => {
    const code = warning instanceof Error ? (warning as NodeJS.ErrnoException).code : warningCode(args);
    if (code !== undefined && DROPPED.has(code)) return;
    emit(warning, ...args);
  }) as typeof process.emitWarning;
}
