// Runs the authorization code flow with PKCE, UserInfo, refresh and RP-initiated logout
// against a running unilogin with openid-client, a certified relying-party library. The
// hosted sign-in pages are driven by ../lib/hosted-login.mjs.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// PHONE (11 digits), SMS_OUTBOX (path of the development SMS outbox), NEW_PASSWORD.
import * as client from "openid-client";
import { Account, Browser, Report, requireEnv, signIn } from "../lib/hosted-login.mjs";

const issuer = requireEnv("ISSUER");
const clientId = requireEnv("CLIENT_ID");
const redirectUri = requireEnv("REDIRECT_URI");
const postLogoutRedirectUri = requireEnv("POST_LOGOUT_REDIRECT_URI");
const account = new Account({
  phone: requireEnv("PHONE"),
  outbox: requireEnv("SMS_OUTBOX"),
  newPassword: requireEnv("NEW_PASSWORD"),
});
const phone = account.phone;
const report = new Report("openid-client");
const check = report.check.bind(report);
const browser = new Browser(issuer);

const config = await client.discovery(new URL(issuer), clientId, requireEnv("CLIENT_SECRET"));
client.enableNonRepudiationChecks(config);
check("discovery issuer matches", config.serverMetadata().issuer === issuer);
check("S256 advertised", config.serverMetadata().code_challenge_methods_supported?.includes("S256"));

const verifier = client.randomPKCECodeVerifier();
const nonce = client.randomNonce();
const state = client.randomState();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid profile phone",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  nonce,
  state,
});

const callback = await report.step("sign-in", () => signIn(browser, authorizationUrl, redirectUri, account));
if (!callback) report.finish();
check("sign-in returns to the client", callback.startsWith(redirectUri), callback);

const tokens = await report.step("code exchange", () =>
  client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  }),
);
if (!tokens) report.finish();
const claims = tokens.claims();
check("ID token verified with nonce and state", claims?.nonce === nonce);
check("ID token iss", claims?.iss === issuer, claims?.iss);
check("ID token aud", [claims?.aud].flat().includes(clientId), JSON.stringify(claims?.aud));
check("ID token azp when present", claims?.azp === undefined || claims.azp === clientId, claims?.azp);
check("ID token amr", JSON.stringify(claims?.amr) === JSON.stringify(["pwd", "sms", "mfa"]));

const userinfo = await report.step("UserInfo", () => client.fetchUserInfo(config, tokens.access_token, claims.sub));
check("UserInfo phone_number", userinfo?.phone_number === `+86${phone}`, JSON.stringify(userinfo));

const refreshed = await report.step("refresh", () => client.refreshTokenGrant(config, tokens.refresh_token));
check("refresh returns a new refresh token", refreshed?.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
check("refreshed ID token keeps sub", refreshed?.claims()?.sub === claims.sub);

let reuseRejected = false;
try {
  await client.refreshTokenGrant(config, tokens.refresh_token);
} catch (error) {
  reuseRejected = error.error === "invalid_grant";
}
check("reused refresh token is invalid_grant", reuseRejected);

const logoutUrl = client.buildEndSessionUrl(config, {
  id_token_hint: refreshed?.id_token ?? tokens.id_token,
  post_logout_redirect_uri: postLogoutRedirectUri,
  state: "bye",
});
const afterLogout = await browser.location(logoutUrl);
check("logout redirects with state", afterLogout === `${postLogoutRedirectUri}?state=bye`, afterLogout);

const silent = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  prompt: "none",
});
const silentCallback = (await browser.location(silent)) || redirectUri;
check("prompt=none after logout is login_required", new URL(silentCallback).searchParams.get("error") === "login_required", silentCallback);

report.finish();
