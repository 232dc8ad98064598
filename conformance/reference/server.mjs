// panva's oidc-provider, a certified OpenID provider, configured like unilogin so that the
// conformance checks in ../oidf run against both and their results can be compared. Like
// unilogin it offers the authorization code flow only, PKCE S256 for every client,
// client_secret_basic and client_secret_post, refresh tokens with rotation, RP-initiated and
// back-channel logout, and the claims parameter. It shows no consent page, because the
// platform's systems are first-party.
//
// Environment: PORT (127.0.0.1 listener), CLIENTS_FILE (JSON array of client metadata),
// REGISTRATION_TOKEN (initial access token for dynamic registration, which the checks use to
// register a client with a backchannel_logout_uri that is only known at run time).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
};
const port = Number(env("PORT"));
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(readFileSync(env("CLIENTS_FILE"), "utf8"));

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "reference-rs256", use: "sig", alg: "RS256" };

// One test user; the dev interaction pages accept any login name as its account id.
async function findAccount(_ctx, accountId) {
  return {
    accountId,
    async claims() {
      return {
        sub: accountId,
        name: "测试用户",
        phone_number: "+8613912345678",
        phone_number_verified: true,
      };
    },
  };
}

// Grants every requested scope and claim without a consent page, as unilogin does for the
// platform's own systems.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  if (!oidc.session.accountId) return undefined;
  const grant = new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(" "));
  grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  findAccount,
  loadExistingGrant,
  cookies: {
    keys: [randomBytes(32).toString("base64url")],
    // oidc-provider 9 accepts POST at the authorization endpoint (OpenID Connect Core
    // §3.1.2.1) only with SameSite=None session cookies.
    long: { sameSite: "none" },
  },
  enableHttpPostMethods: true,
  claims: {
    openid: ["sub"],
    profile: ["name"],
    phone: ["phone_number", "phone_number_verified"],
  },
  scopes: ["openid", "offline_access", "profile", "phone"],
  responseTypes: ["code"],
  pkce: { required: () => true },
  clientDefaults: {
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    id_token_signed_response_alg: "RS256",
  },
  // oidc-provider rejects outgoing requests to loopback and private addresses (SSRF
  // protection) through its own fetch dispatcher. The checks' back-channel logout receiver
  // listens on 127.0.0.1, so this test-only setup drops that dispatcher.
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    claimsParameter: { enabled: true },
    userinfo: { enabled: true },
    registration: { enabled: true, initialAccessToken: env("REGISTRATION_TOKEN") },
  },
});
// Errors are printed, not swallowed, so a failing check can be traced in the server log.
provider.on("server_error", (_ctx, error) => console.error("server_error", error));
provider.on("backchannel.error", (_client, error) => console.error("backchannel.error", error.message));

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
