// Signs one person in at an OpenID provider from the command line and
// prints their ID token, for scripts such as `scripts/demo`:
//
//   node tests/support/oidc/login.mjs --issuer http://127.0.0.1:9400 \
//     --client-id broker --client-secret SECRET \
//     --redirect-uri http://127.0.0.1:8080/oauth2/callback --login alice
//
// It runs the authorization-code flow with PKCE (S256), state and nonce,
// fills in the development login form of provider.mjs (any password), stops
// at the redirect back to the client, redeems the code with
// client_secret_basic and writes ONLY the raw ID token to stdout. Any
// failure goes to stderr with exit status 1. Node 20 built-ins only.

import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

// Redirects and form posts one sign-in may take before it is a loop.
const MAX_HOPS = 12;

class LoginError extends Error {}

function options() {
  const names = ['issuer', 'client-id', 'client-secret', 'redirect-uri',
    'login'];
  const spec = Object.fromEntries(names.map((n) => [n, { type: 'string' }]));
  const { values } = parseArgs({ options: spec, strict: true });
  const missing = names.filter((n) => !values[n]);
  if (missing.length) {
    throw new LoginError(`missing --${missing.join(', --')}`);
  }
  return {
    issuer: values.issuer.replace(/\/$/, ''),
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    redirectUri: values['redirect-uri'],
    login: values.login,
  };
}

const random = () => randomBytes(32).toString('base64url');

// fetch, with a network failure told in one line rather than a stack.
async function request(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    const where = new URL(url);
    throw new LoginError(`cannot reach ${where.origin}${where.pathname}: `
      + `${err.cause?.message ?? err.message}`);
  }
}

// A cookie jar for one origin. It ignores paths and sends every cookie on
// every request: the provider reads only the cookies it expects, so the
// extra ones do no harm, and name=value pairs are all it needs back.
class Browser {
  #cookies = new Map();

  async send(url, init = {}) {
    const headers = { ...init.headers };
    if (this.#cookies.size) {
      headers.cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`)
        .join('; ');
    }
    const response = await request(url, { ...init, headers,
      redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      this.#keep(line);
    }
    if (response.status !== 200 && !isRedirect(response)) {
      const where = new URL(url);
      throw new LoginError(`${where.origin}${where.pathname} answered `
        + `${response.status}: ${gist(await response.text())}`);
    }
    return response;
  }

  #keep(line) {
    const pair = line.split(';', 1)[0];
    const at = pair.indexOf('=');
    if (at < 1) return;
    const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1)];
    // An expired or emptied cookie is the provider deleting it.
    if (value === '' || /;\s*max-age=0/i.test(line)) {
      this.#cookies.delete(name);
    } else {
      this.#cookies.set(name, value);
    }
  }
}

const isRedirect = (r) => r.status >= 300 && r.status < 400;

// The text of an error page without its markup and styles, shortened.
function gist(page) {
  const text = page.replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]*>/g, ' ').replaceAll('&#39;', "'").replace(/\s+/g, ' ');
  return text.trim().slice(0, 400);
}

// The provider's pages come from its own templates, so a scan for
// attributes finds the first form and its hidden inputs; it is no parser.
function attribute(tag, name) {
  const close = tag.indexOf('>');
  const head = close < 0 ? tag : tag.slice(0, close);
  const found = head.match(new RegExp(` ${name}="([^"]*)"`));
  if (!found) return undefined;
  return found[1].replaceAll('&quot;', '"').replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

function firstForm(page) {
  const start = page.indexOf('<form');
  if (start < 0) return undefined;
  const end = page.indexOf('</form>', start);
  const form = page.slice(start, end < 0 ? page.length : end);
  const action = attribute(form, 'action');
  if (action === undefined) return undefined;
  const fields = new URLSearchParams();
  for (const input of form.split('<input').slice(1)) {
    if (attribute(input, 'type') !== 'hidden') continue;
    const name = attribute(input, 'name');
    if (name === undefined) continue;
    fields.append(name, attribute(input, 'value') ?? '');
  }
  return { action, fields };
}

// Follows redirects within the provider and submits each form it shows
// with its hidden fields plus `extra` (the self-submitting pages already
// carry some of them, and the provider rejects duplicates). Returns the
// first redirect that leaves the provider.
async function walk(browser, start, extra) {
  const origin = new URL(start).origin;
  let url = new URL(start);
  let response = await browser.send(url);
  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    if (isRedirect(response)) {
      url = new URL(response.headers.get('location'), url);
      if (url.origin !== origin) return url;
      response = await browser.send(url);
      continue;
    }
    const form = firstForm(await response.text());
    if (!form) throw new LoginError(`no form and no redirect at ${url}`);
    for (const [name, value] of Object.entries(extra)) {
      if (!form.fields.has(name)) form.fields.append(name, value);
    }
    url = new URL(form.action, url);
    response = await browser.send(url, { method: 'POST',
      body: form.fields });
  }
  throw new LoginError(`still at the provider after ${MAX_HOPS} steps`);
}

async function discover(issuer) {
  const url = `${issuer}/.well-known/openid-configuration`;
  const response = await request(url);
  if (!response.ok) {
    throw new LoginError(`${url} answered ${response.status}`);
  }
  return response.json();
}

// Checks the redirect back to the client before its code is used.
function codeFrom(back, opts, state) {
  if (!back.href.startsWith(opts.redirectUri)) {
    throw new LoginError(`expected a redirect to ${opts.redirectUri}, got `
      + `${back.origin}${back.pathname}`);
  }
  const params = back.searchParams;
  if (params.get('error')) {
    throw new LoginError(`provider refused: ${params.get('error')}: `
      + `${params.get('error_description') ?? ''}`);
  }
  if (params.get('state') !== state) throw new LoginError('state mismatch');
  if (params.has('iss') && params.get('iss') !== opts.issuer) {
    throw new LoginError(`unexpected iss ${params.get('iss')}`);
  }
  const code = params.get('code');
  if (!code) throw new LoginError('no code in the redirect back');
  return code;
}

// RFC 6749 section 2.3.1: id and secret are form-encoded before they go
// into the Basic credentials.
async function redeem(endpoint, opts, code, verifier) {
  const encode = (s) => new URLSearchParams({ s }).toString().slice(2);
  const basic = Buffer.from(`${encode(opts.clientId)}:`
    + `${encode(opts.clientSecret)}`).toString('base64');
  const response = await request(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code,
      redirect_uri: opts.redirectUri, code_verifier: verifier }),
  });
  const body = await response.text();
  if (!response.ok) {
    throw new LoginError(`token endpoint answered ${response.status}: ${body}`);
  }
  return JSON.parse(body).id_token;
}

function checkNonce(idToken, nonce) {
  const payload = String(idToken).split('.')[1] ?? '';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (claims.nonce !== nonce) throw new LoginError('ID token nonce mismatch');
}

async function main() {
  const opts = options();
  const discovery = await discover(opts.issuer);
  const [state, nonce, verifier] = [random(), random(), random()];
  const challenge = createHash('sha256').update(verifier)
    .digest('base64url');

  const url = new URL(discovery.authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code',
    client_id: opts.clientId, redirect_uri: opts.redirectUri,
    scope: 'openid email profile', state, nonce, code_challenge: challenge,
    code_challenge_method: 'S256' })) {
    url.searchParams.set(k, v);
  }
  const back = await walk(new Browser(), url.href,
    { login: opts.login, password: 'any password' });
  const code = codeFrom(back, opts, state);

  const idToken = await redeem(discovery.token_endpoint, opts, code,
    verifier);
  checkNonce(idToken, nonce);
  process.stdout.write(`${idToken}\n`);
}

main().catch((err) => {
  const known = err instanceof LoginError
    || String(err.code).startsWith('ERR_PARSE_ARGS');
  const message = known ? err.message : err.stack;
  process.stderr.write(`login: ${message}\n`);
  process.exit(1);
});
