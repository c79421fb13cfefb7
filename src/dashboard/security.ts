// The dashboard's defences, each a pure function the server applies before any work: the Host
// header against an allow-list (DNS rebinding), the request path decoded and checked (no
// traversal, raw or percent-encoded), and the token (constant-time compare).
import crypto from 'node:crypto';
import os from 'node:os';

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export const isLoopback = (host: string) => LOOPBACK.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';
/** How a host is written in a Host header: IPv6 in brackets, lower case. */
const hostForm = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h).toLowerCase();

/**
 * The Host header values a browser sends for this server: loopback names always; the bound host;
 * for a wildcard bind, this machine's hostname and interface addresses; `extra` (--allow-host).
 */
export function allowedHosts(bound: string, port: number, extra: string[] = []): Set<string> {
  const names = new Set([...LOOPBACK, ...extra]);
  if (isWildcard(bound)) {
    names.add(os.hostname());
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.address.replace(/%.*$/, ''));
  } else names.add(bound);
  const out = new Set<string>();
  for (const n of names) {
    out.add(`${hostForm(n)}:${port}`);
    if (port === 80) out.add(hostForm(n));
  }
  return out;
}

/** Why a raw request target is refused (400), or its decoded path. Decoding comes first, so `%2e%2e` is `..`. */
export function checkPath(target: string): { path: string; query: URLSearchParams } | { refused: string } {
  if (!target.startsWith('/')) return { refused: 'the request target is not a path' };
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  // an encoded slash, backslash or NUL has no use in our paths and only ever hides a traversal
  if (/%(2f|5c|00)/i.test(raw) || /[\\\0]/.test(raw)) return { refused: 'encoded slash, backslash or NUL in the path' };
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return { refused: 'malformed percent-encoding' };
  }
  if (/[\\\0]/.test(path) || path.split('/').some((s) => s === '..' || s === '.')) return { refused: 'a . or .. segment in the path' };
  return { path, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

/** A fresh token: 24 random bytes, base64url. */
export const newToken = () => crypto.randomBytes(24).toString('base64url');

/** Whether `given` is the token, compared in constant time (a digest of each, so lengths do not leak either). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const h = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(h(given), h(token));
}

/** The cookie holding the token once the page has presented it. */
export const TOKEN_COOKIE = 'googlenet_dashboard';

/** The token a request presents: `Authorization: Bearer T` or the cookie. */
export function presentedToken(headers: { authorization?: string; cookie?: string }): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (bearer) return bearer;
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * Headers on every response. Scripts only from this server and no eval (vega runs with its
 * expression interpreter); styles only from this server (vega-embed's and vega-tooltip's injected
 * styles are turned off and ours are in style.css); no framing, no referrer, no sniffing.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
