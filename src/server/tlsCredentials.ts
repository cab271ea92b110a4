/**
 * The certificate the HTTP listener serves HTTPS and WSS with: `[signal] cert` and `key` (PEM files,
 * checked at start), or the self-signed one of `[signal] tlsselfsigned` (selfSignedCert.ts). Neither:
 * plain HTTP, as behind a reverse proxy that terminates TLS.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, type Config } from '../config/index.ts';
import { selfSignedCert } from './selfSignedCert.ts';

export interface TlsCredentials {
  /** PEM texts handed to the HTTPS server. */
  cert: string;
  key: string;
  /** The certificate file (the leaf first, when it holds a chain). */
  certPath: string;
  /** SHA-256 fingerprint of the leaf certificate, `AB:CD:…`, as browsers show it. */
  fingerprint256: string;
  /** When the leaf certificate expires. */
  validTo: Date;
  /** The generated certificate of `[signal] tlsselfsigned`; `created` when made by this start. */
  selfSigned?: { created: boolean };
}

/** Reads one PEM file of `[signal] <key>`; an unreadable one is a configuration error naming it. */
async function readPem(key: 'cert' | 'key', path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([`signal.${key}: cannot read ${path} (${why})`], { cause: err });
  }
}

/** A certificate and its private key, parsed and matched: what is wrong is told with the file's name. */
function checkPair(cert: string, certPath: string, key: string, keyPath: string): X509Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError([`signal.cert: ${certPath} is not a PEM certificate`], { cause: err });
  }
  let ok: boolean;
  try {
    ok = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new ConfigError([`signal.key: ${keyPath} is not an unencrypted PEM private key`], { cause: err });
  }
  if (!ok) {
    throw new ConfigError([`signal.key: ${keyPath} is not the private key of ${certPath}`]);
  }
  return x509;
}

/**
 * The listener's certificate from the configuration, or undefined for plain HTTP. Relative paths are
 * resolved against the working directory, as `[api] datadir` is.
 * @throws ConfigError when a file cannot be read, is not PEM, or the key does not match.
 */
export async function tlsCredentials(config: Config, datadir: string): Promise<TlsCredentials | undefined> {
  const s = config.signal;
  let pair: { cert: string; key: string; certPath: string; keyPath: string };
  let selfSigned: TlsCredentials['selfSigned'];
  if (s.cert !== undefined && s.key !== undefined) {
    const certPath = resolve(s.cert);
    const keyPath = resolve(s.key);
    const [cert, key] = await Promise.all([readPem('cert', certPath), readPem('key', keyPath)]);
    pair = { cert, key, certPath, keyPath };
  } else if (s.tlsselfsigned) {
    const made = await selfSignedCert(datadir);
    pair = made;
    selfSigned = { created: made.created };
  } else {
    return undefined;
  }
  const x509 = checkPair(pair.cert, pair.certPath, pair.key, pair.keyPath);
  return {
    cert: pair.cert,
    key: pair.key,
    certPath: pair.certPath,
    fingerprint256: x509.fingerprint256,
    validTo: new Date(x509.validTo),
    ...(selfSigned ? { selfSigned } : {}),
  };
}
