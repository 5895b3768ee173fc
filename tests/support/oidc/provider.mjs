// An OpenID Connect provider on loopback for studio-broker's integration
// tests, built on oidc-provider 8.8.1 with its development login form (any
// login name, any password).
//
// Configuration: the environment variable OIDC_TEST_CONFIG holds one JSON
// object (every key optional):
//   {
//     "port": 0,                  // 0 picks a free port
//     "id_token_ttl_seconds": 3600,
//     "clients": [{ "client_id": "broker", "client_secret": "...",
//                   "redirect_uris": ["http://127.0.0.1:8080/oauth2/callback"],
//                   "post_logout_redirect_uris": ["http://127.0.0.1:8080/"],
//                   "token_endpoint_auth_method": "client_secret_basic" }],
//     "users": { "alice": { "email": "alice@example.com",
//                           "email_verified": true, "groups": ["ml-users"],
//                           "name": "Alice" } }
//   }
// A login name is the subject (`sub`). A name missing from `users` still
// signs in, with no claim but `sub`, so tests can present an identity that
// the broker does not know.
//
// When ready it prints exactly one line to stdout,
// `listening on http://127.0.0.1:PORT`; everything else goes to stderr. It
// stops on SIGTERM, SIGINT, or when its stdin closes (so a test process that
// dies does not leave it behind).

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const users = config.users || {};

// Fresh keys at every start: the library's built-in development keys are
// public, and a broker that cached a key set from an earlier run must not
// accept tokens from this one.
function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${alg.toLowerCase()}-${randomUUID()}`, alg, use: 'sig' };
}

// Web clients (the default application_type) may register plain-http
// redirect URIs as long as they use the code flow; only the implicit flow
// insists on https and no localhost. So a confidential web client on
// 127.0.0.1 needs no special knob, and `native` would be the wrong type for
// a server-side client that holds a secret.
function client(c) {
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris || [],
    post_logout_redirect_uris: c.post_logout_redirect_uris || [],
    token_endpoint_auth_method:
      c.token_endpoint_auth_method || 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
}

// The broker is a first-party client registered by an administrator, as in
// most enterprise providers, so nobody is asked for consent: each request
// gets a grant for exactly the scopes it asks for.
async function grantWithoutConsent(ctx) {
  const { session, client: rp, params } = ctx.oidc;
  if (!session?.accountId) return undefined;
  const grant = new ctx.oidc.provider.Grant({
    accountId: session.accountId,
    clientId: rp.clientId,
  });
  grant.addOIDCScope(String(params.scope || 'openid'));
  await grant.save();
  return grant;
}

function providerConfig() {
  const idTokenTtl = Number(config.id_token_ttl_seconds || 3600);
  return {
    clients: (config.clients || []).map(client),
    jwks: {
      keys: [
        signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
        signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      ],
    },
    async findAccount(ctx, sub) {
      return { accountId: sub, claims: async () => ({ ...users[sub], sub }) };
    },
    // `groups` rides on `profile` so that the broker's default scopes bring
    // it; a separate `groups` scope exists for clients that ask for it alone.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'groups'],
      groups: ['groups'],
    },
    // Put scope-requested claims in the ID token too (not only UserInfo),
    // as Entra ID, Okta and Keycloak do for the claims a broker relies on.
    conformIdTokenClaims: false,
    loadExistingGrant: grantWithoutConsent,
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
    },
    // Plain http on loopback: SameSite=None cookies without Secure are
    // dropped by browsers, so both kinds are Lax, which still travels on
    // the top-level redirects of the login flow.
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: idTokenTtl,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  };
}

// Bind before building the provider: the issuer must carry the real port,
// which is only known once port 0 has been resolved.
const server = createServer();
server.listen(Number(config.port || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, providerConfig());
  provider.on('server_error', (_ctx, err) => console.error(err));
  server.on('request', provider.callback());
  process.stdout.write(`listening on ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
