// A minimal OpenID provider for scripts/bench: discovery and a JWK Set
// for one RSA key, a token minting route, and a count of key-set
// fetches. Node's standard library only; loopback only.
//
//   node idp.mjs --key tests/fixtures/keys/rsa-a.pem [--port 0]
//
// Prints `listening on http://127.0.0.1:PORT` once it listens.
//   GET /.well-known/openid-configuration
//   GET /jwks                      (counted)
//   GET /_bench/token?sub=alice    an RS256 token for audience `broker`
//   GET /_bench/fetches            {"jwks": N}

import { createServer } from 'node:http';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    key: { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!args.key) {
  console.error('idp.mjs: --key PEM is required');
  process.exit(2);
}

const KID = 'bench-rsa-a';
const privateKey = createPrivateKey(readFileSync(args.key));
const publicJwk = {
  ...createPublicKey(privateKey).export({ format: 'jwk' }),
  kid: KID,
  use: 'sig',
  alg: 'RS256',
};
let jwksFetches = 0;
let issuer = '';

function base64url(value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
  return bytes.toString('base64url');
}

function token(sub) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: KID };
  const claims = {
    iss: issuer, aud: 'broker', azp: 'broker', sub,
    iat: now, nbf: now, exp: now + 3600,
  };
  const input = `${base64url(header)}.${base64url(claims)}`;
  const signature = sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${base64url(signature)}`;
}

function discovery() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, issuer);
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      return answer(res, 200, discovery());
    case '/jwks':
      jwksFetches += 1;
      return answer(res, 200, { keys: [publicJwk] });
    case '/_bench/token':
      return answer(res, 200, { token: token(url.searchParams.get('sub') ?? 'alice') });
    case '/_bench/fetches':
      return answer(res, 200, { jwks: jwksFetches });
    default:
      return answer(res, 404, { error: 'not_found' });
  }
});

server.listen(Number(args.port), '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  console.log(`listening on ${issuer}`);
});
