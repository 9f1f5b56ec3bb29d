/**
 * The TLS files a coordinator or a client is given by flag, read and parsed
 * with errors that name the file, the flag and what to do, the same way on
 * both sides.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Reads `file` (the `what` given by `flag`); one that cannot be read says so, then `hint`. */
export function readTlsFile(file: string, what: string, flag: string, hint: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file} (${flag}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; ${hint}`);
  }
}

/** Parses a PEM certificate read from `file` (given by `flag`). */
export function parsePemCertificate(pem: Buffer, file: string, flag: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new Error(`${file} (${flag}) is not a PEM certificate: ${(error as Error).message}`);
  }
}
