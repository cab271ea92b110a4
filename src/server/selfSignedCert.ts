/**
 * The self-signed certificate of `switchboard start --tls-self-signed` (`[signal] tlsselfsigned`), for
 * trying the server from phones and other machines of a LAN: their browsers give camera and microphone
 * only to secure origins. Made with the `selfsigned` package (Node's WebCrypto underneath; no OpenSSL
 * command needed), kept in `<datadir>/tls/` and reused while it is valid and still names this machine,
 * so the exception a browser was given for it keeps holding across restarts.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

/** How long a new certificate is valid: a year, under Apple's 825-day limit for any TLS certificate. */
const VALID_DAYS = 365;
/** A certificate expiring sooner than this is replaced at start rather than reused. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export interface SelfSignedCert {
  /** PEM texts. */
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  /** True when made by this start, false when the one in `<datadir>/tls/` was reused. */
  created: boolean;
}

/** The names a LAN trial reaches this machine by: DNS names and IPv4 addresses. */
export interface LocalNames {
  dns: string[];
  ips: string[];
}

/** localhost, the host name, 127.0.0.1 and every non-loopback, non-link-local IPv4 address. */
export function localNames(): LocalNames {
  const host = hostname().toLowerCase();
  const ips = ['127.0.0.1'];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (
        a.family === 'IPv4' &&
        !a.internal &&
        !a.address.startsWith('169.254.') &&
        !ips.includes(a.address)
      ) {
        ips.push(a.address);
      }
    }
  }
  return { dns: host === '' || host === 'localhost' ? ['localhost'] : ['localhost', host], ips };
}

/** The certificate in `dir`, when it is whole, valid a while longer, and names every one of `names`. */
async function reusable(
  certPath: string,
  keyPath: string,
  names: LocalNames,
): Promise<SelfSignedCert | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    const fresh = Date.parse(x509.validTo) - Date.now() > RENEW_BEFORE_MS;
    const covers =
      names.dns.every((n) => x509.checkHost(n, { subject: 'never' }) !== undefined) &&
      names.ips.every((ip) => x509.checkIP(ip) !== undefined);
    if (!fresh || !covers || !x509.checkPrivateKey(createPrivateKey(key))) {
      return undefined;
    }
  } catch {
    return undefined; // missing or unreadable: make a new one
  }
  return { cert, key, certPath, keyPath, created: false };
}

/** Writes `text` to `path` through a temporary file, so a crash never leaves half a PEM file. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode); // writeFile's mode is masked by the umask
  await rename(tmp, path);
}

/**
 * The certificate and key in `<datadir>/tls/` (`cert.pem`, `key.pem` mode 0600), made anew when
 * missing, expiring within a week, or not naming every current name of this machine (a new address).
 */
export async function selfSignedCert(
  datadir: string,
  names: LocalNames = localNames(),
): Promise<SelfSignedCert> {
  const dir = join(datadir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const kept = await reusable(certPath, keyPath, names);
  if (kept) {
    return kept;
  }
  // Loaded only to make one: it takes a quarter of a second, which every CLI command would pay.
  const { generate } = await import('selfsigned');
  const notBeforeDate = new Date(Date.now() - 60_000); // a client's clock a little behind still accepts it
  const pems = await generate(
    [{ name: 'commonName', value: `Switchboard on ${names.dns.at(-1) ?? 'localhost'}` }],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + VALID_DAYS * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...names.dns.map((value) => ({ type: 2 as const, value })),
            ...names.ips.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    },
  );
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(keyPath, pems.private, 0o600);
  await writeAtomically(certPath, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, certPath, keyPath, created: true };
}
