// Runs the authorization code flow with PKCE, UserInfo, refresh with rotation, revocation
// (RFC 7009), introspection (RFC 7662) and RP-initiated logout against a running unilogin
// with oauth4webapi. Every response goes through the library's own process* function, so a
// response that it rejects as non-conforming fails the check.
//
// Environment: ISSUER, CLIENT_ID, AUTH_METHOD (client_secret_basic, the default;
// private_key_jwt; or none for a public client), CLIENT_SECRET (for client_secret_basic),
// PRIVATE_KEY_FILE (for private_key_jwt: the private JWK that generate-key.mjs wrote), PAR=1
// for a client registered with --require-par, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI, PHONE
// (11 digits), SMS_OUTBOX (path of the development SMS outbox), NEW_PASSWORD, and optionally
// LABEL for the summary line.
import * as oauth from "oauth4webapi";
import { Account, Browser, Report, describeError, requireEnv, signIn } from "../lib/hosted-login.mjs";
import { checkClientAssertions, loadPrivateKey } from "./client-assertions.mjs";
import { checkPlainRequestRejected, checkPushResponse, checkRequestUriReuse, pushAuthorizationRequest } from "./par.mjs";

const issuer = new URL(requireEnv("ISSUER"));
const clientId = requireEnv("CLIENT_ID");
const authMethod = process.env.AUTH_METHOD || "client_secret_basic";
const redirectUri = requireEnv("REDIRECT_URI");
const postLogoutRedirectUri = requireEnv("POST_LOGOUT_REDIRECT_URI");
const account = new Account({
  phone: requireEnv("PHONE"),
  outbox: requireEnv("SMS_OUTBOX"),
  newPassword: requireEnv("NEW_PASSWORD"),
});
const publicClient = authMethod === "none";
const usePar = process.env.PAR === "1";
const report = new Report(process.env.LABEL || "oauth4webapi");
const check = report.check.bind(report);

const client = { client_id: clientId, token_endpoint_auth_method: authMethod };
const privateKey = authMethod === "private_key_jwt" ? await loadPrivateKey(requireEnv("PRIVATE_KEY_FILE")) : undefined;
const clientAuth = clientAuthentication();
const browser = new Browser(issuer.toString());

// Returns the OAuth error code of a rejected token, revocation or introspection response. A
// 401 with a WWW-Authenticate challenge (RFC 6749 section 5.2) still carries it in the body.
async function oauthError(promise) {
  try {
    await promise;
    return "no error";
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return error.error;
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      const body = await error.response.json().catch(() => ({}));
      return body.error ?? `HTTP ${error.status} without an error code`;
    }
    return describeError(error);
  }
}

function clientAuthentication() {
  switch (authMethod) {
    case "none":
      return oauth.None();
    case "private_key_jwt":
      return oauth.PrivateKeyJwt(privateKey);
    default:
      return oauth.ClientSecretBasic(requireEnv("CLIENT_SECRET"));
  }
}

function plainAuthorizationUrl(as, parameters) {
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: "code", ...parameters });
  return url;
}

// Returns the authorization URL for the parameters, and with PAR also the push's status and
// response. `purpose` names the push in the report.
async function authorizationUrl(as, parameters, purpose) {
  if (!usePar) return { url: plainAuthorizationUrl(as, parameters) };

  const pushParameters = { redirect_uri: redirectUri, response_type: "code", ...parameters };
  const pushed = await report.step(`pushed authorization request for ${purpose}`, () =>
    pushAuthorizationRequest(as, client, clientAuth, pushParameters),
  );
  if (!pushed) report.finish();
  return pushed;
}

const as = await report.step("discovery", async () =>
  oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer)),
);
if (!as) report.finish();
check("discovery issuer matches", as.issuer === issuer.href.replace(/\/$/, ""), as.issuer);
check("S256 advertised", as.code_challenge_methods_supported?.includes("S256"));
check("auth method advertised", as.token_endpoint_auth_methods_supported?.includes(authMethod), JSON.stringify(as.token_endpoint_auth_methods_supported));
if (!publicClient) {
  check("revocation endpoint advertised", Boolean(as.revocation_endpoint));
  check("introspection endpoint advertised", Boolean(as.introspection_endpoint));
}
if (authMethod === "private_key_jwt") {
  const algorithms = as.token_endpoint_auth_signing_alg_values_supported;
  check("ES256 advertised for client assertions when listed", !algorithms || algorithms.includes("ES256"), JSON.stringify(algorithms));
}
if (usePar) check("PAR endpoint advertised", Boolean(as.pushed_authorization_request_endpoint));

const codeVerifier = oauth.generateRandomCodeVerifier();
const nonce = oauth.generateRandomNonce();
const state = oauth.generateRandomState();
const authorizationParameters = {
  scope: "openid profile phone",
  code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: "S256",
  nonce,
  state,
};
if (usePar) {
  const plainUrl = plainAuthorizationUrl(as, authorizationParameters);
  await checkPlainRequestRejected(report, browser, as, client, plainUrl, state);
}
const { url, ...push } = await authorizationUrl(as, authorizationParameters, "sign-in");
if (usePar) checkPushResponse(report, push);

const callback = await report.step("sign-in", () => signIn(browser, url, redirectUri, account));
if (!callback) report.finish();
check("sign-in returns to the client", callback.startsWith(redirectUri), callback);
if (usePar) await checkRequestUriReuse(report, browser, url);

// Checks state, and iss when the server advertises RFC 9207 authorization response iss.
const callbackParameters = await report.step("authorization response valid", () =>
  oauth.validateAuthResponse(as, client, new URL(callback), state),
);
if (!callbackParameters) report.finish();
check("authorization response carries iss", callbackParameters.get("iss") === as.issuer, callback);

const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callbackParameters, redirectUri, codeVerifier);
const tokens = await report.step("code exchange", () =>
  oauth.processAuthorizationCodeResponse(as, client, codeResponse, { expectedNonce: nonce, requireIdToken: true }),
);
if (!tokens) report.finish();
check("token_type is bearer", tokens.token_type === "bearer", tokens.token_type);
// RFC 6749 section 5.1: responses that carry tokens must not be cached.
check("token response Cache-Control no-store", /no-store/.test(codeResponse.headers.get("cache-control") ?? ""), codeResponse.headers.get("cache-control"));
check("refresh token issued", typeof tokens.refresh_token === "string");

// processAuthorizationCodeResponse has checked iss, aud, azp, exp, iat and nonce. It does not
// check the signature, so validateApplicationLevelSignature checks it against the JWKS.
const claims = oauth.getValidatedIdTokenClaims(tokens);
await report.step("ID token signature verifies against JWKS", () =>
  oauth.validateApplicationLevelSignature(as, codeResponse),
);
check("ID token iss", claims.iss === as.issuer, claims.iss);
check("ID token aud", [claims.aud].flat().includes(clientId), JSON.stringify(claims.aud));
check("ID token nonce", claims.nonce === nonce);
check("ID token azp when present", claims.azp === undefined || claims.azp === clientId, claims.azp);

const userinfo = await report.step("UserInfo response valid", async () =>
  oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token)),
);
check("UserInfo sub matches", userinfo?.sub === claims.sub);
check("UserInfo phone_number", userinfo?.phone_number === `+86${account.phone}`, JSON.stringify(userinfo));

async function introspect(token) {
  const response = await oauth.introspectionRequest(as, client, clientAuth, token);
  return oauth.processIntrospectionResponse(as, client, response);
}

if (!publicClient) {
  const active = await report.step("introspection of access token", () => introspect(tokens.access_token));
  check("access token introspects active", active?.active === true, JSON.stringify(active));
  check("introspection client_id", active?.client_id === clientId, active?.client_id);
  check("introspection sub", active?.sub === claims.sub, active?.sub);
  const unknown = await report.step("introspection of unknown token", () => introspect("not-a-token"));
  check("unknown token introspects inactive", unknown?.active === false, JSON.stringify(unknown));
} else {
  // RFC 7662 section 2.1: the introspection endpoint requires client authentication, which a
  // public client cannot give.
  const rejected = await oauthError(introspect(tokens.access_token));
  check("public client cannot introspect", rejected === "invalid_client", rejected);
}

async function refresh(refreshToken) {
  const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken);
  return oauth.processRefreshTokenResponse(as, client, response);
}

const refreshed = await report.step("refresh", () => refresh(tokens.refresh_token));
check("refresh returns a new refresh token", refreshed?.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
check("refreshed ID token keeps sub", oauth.getValidatedIdTokenClaims(refreshed ?? {})?.sub === claims.sub);
const current = refreshed?.refresh_token ?? tokens.refresh_token;

// Revoke the newest refresh token before replaying the old one, so that reuse detection
// (which may revoke the whole family) cannot make the revocation check pass by itself.
if (!publicClient) {
  const before = await report.step("introspection of refresh token", () => introspect(current));
  check("refresh token introspects active", before?.active === true, JSON.stringify(before));
}
const revokeResponse = await oauth.revocationRequest(as, client, clientAuth, current, {
  additionalParameters: { token_type_hint: "refresh_token" },
});
await report.step("revocation accepted", () => oauth.processRevocationResponse(revokeResponse));
if (!publicClient) {
  const after = await report.step("introspection after revocation", () => introspect(current));
  check("revoked refresh token introspects inactive", after?.active === false, JSON.stringify(after));
}
// RFC 7009 section 2.2: the server returns 200 for an invalid token, because the client could
// not act on an error.
const unknownRevokeResponse = await oauth.revocationRequest(as, client, clientAuth, "not-a-token");
await report.step("revocation of unknown token accepted", () => oauth.processRevocationResponse(unknownRevokeResponse));
const revokedError = await oauthError(refresh(current));
check("revoked refresh token is invalid_grant", revokedError === "invalid_grant", revokedError);
const reuseError = await oauthError(refresh(tokens.refresh_token));
check("reused refresh token is invalid_grant", reuseError === "invalid_grant", reuseError);

if (authMethod === "private_key_jwt") await checkClientAssertions(report, as, clientId, privateKey);

const endSession = new URL(as.end_session_endpoint);
endSession.search = new URLSearchParams({
  id_token_hint: refreshed?.id_token ?? tokens.id_token,
  post_logout_redirect_uri: postLogoutRedirectUri,
  state: "bye",
  client_id: clientId,
});
const afterLogout = await browser.location(endSession);
check("logout redirects with state", afterLogout === `${postLogoutRedirectUri}?state=bye`, afterLogout);

const silentState = oauth.generateRandomState();
const { url: silentUrl } = await authorizationUrl(
  as,
  {
    scope: "openid",
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    prompt: "none",
    state: silentState,
  },
  "prompt=none",
);
const silentCallback = await browser.location(silentUrl);
let silentError = "no error";
try {
  oauth.validateAuthResponse(as, client, new URL(silentCallback || redirectUri), silentState);
} catch (error) {
  silentError = error instanceof oauth.AuthorizationResponseError ? error.error : describeError(error);
}
check("prompt=none after logout is login_required", silentError === "login_required", `${silentError} ${silentCallback}`);

report.finish();
