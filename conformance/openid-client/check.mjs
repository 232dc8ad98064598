// Runs the authorization code flow with PKCE, UserInfo, refresh and RP-initiated logout
// against a running unilogin with openid-client, a certified relying-party library. The
// hosted sign-in pages are driven by their form field names (the automation contract).
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// PHONE (11 digits), SMS_OUTBOX (path of the development SMS outbox), NEW_PASSWORD.
import { readFileSync } from "node:fs";
import * as client from "openid-client";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
};
const issuer = env("ISSUER");
const redirectUri = env("REDIRECT_URI");
const postLogoutRedirectUri = env("POST_LOGOUT_REDIRECT_URI");
const phone = env("PHONE");
const outbox = env("SMS_OUTBOX");
const newPassword = env("NEW_PASSWORD");

let passed = 0;
let failed = 0;
function check(name, condition, detail = "") {
  if (condition) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name} ${detail}`);
  }
}

// A browser: one cookie jar for the single server under test; redirects are not followed.
const cookies = new Map();
async function browse(url, init = {}) {
  const headers = new Headers(init.headers || {});
  const jar = [...cookies.entries()].map(([k, v]) => `${k}=${v}`).join("; ");
  if (jar) headers.set("cookie", jar);
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [key, ...rest] = pair.split("=");
    cookies.set(key.trim(), rest.join("="));
  }
  return response;
}
function input(html, name) {
  const match = html.match(new RegExp(`name="${name}"[^>]*value="([^"]*)"`));
  return match ? match[1] : "";
}
function form(fields) {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) };
}
function outboxMessages() {
  return readFileSync(outbox, "utf8").trim().split("\n").map((line) => JSON.parse(line));
}
function absolute(location) {
  return new URL(location, issuer).toString();
}

// Follows the sign-in until the browser is sent to the relying party; returns that URL.
async function signIn(authorizationUrl) {
  let response = await browse(authorizationUrl.toString());
  let location = response.headers.get("location");
  if (location.startsWith(redirectUri)) return location;
  let page = await (await browse(absolute(location))).text();
  const requestId = input(page, "request_id");
  const csrf = input(page, "csrf_token");

  await browse(`${issuer}/login/sms-code`, form({ phone, csrf_token: csrf, request_id: requestId }));
  const messages = outboxMessages();
  const code = messages.filter((m) => m.purpose === "login").at(-1).code;
  const initial = messages.filter((m) => m.purpose === "initial_password").at(-1);
  const password = process.env.CURRENT_PASSWORD || initial.text.match(/初始密码为(\S+?)，/)[1];

  response = await browse(`${issuer}/login`, form({ phone, password, sms_code: code, csrf_token: csrf, request_id: requestId }));
  location = response.headers.get("location");
  if (location && location.startsWith("/password/change")) {
    page = await (await browse(absolute(location))).text();
    response = await browse(
      `${issuer}/password/change`,
      form({
        new_password: newPassword,
        new_password_confirm: newPassword,
        csrf_token: input(page, "csrf_token"),
        request_id: input(page, "request_id"),
      }),
    );
    location = response.headers.get("location");
    process.env.CURRENT_PASSWORD = newPassword;
  }
  return location;
}

const config = await client.discovery(new URL(issuer), env("CLIENT_ID"), env("CLIENT_SECRET"), undefined, {
  execute: [client.allowInsecureRequests],
});
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

const callback = await signIn(authorizationUrl);
check("sign-in returns to the client", callback?.startsWith(redirectUri), callback);

const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
});
const claims = tokens.claims();
check("ID token verified with nonce and state", claims?.nonce === nonce);
check("ID token amr", JSON.stringify(claims?.amr) === JSON.stringify(["pwd", "sms", "mfa"]));

const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
check("UserInfo phone_number", userinfo.phone_number === `+86${phone}`, JSON.stringify(userinfo));

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check("refresh returns a new refresh token", refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
check("refreshed ID token keeps sub", refreshed.claims()?.sub === claims.sub);

let reuseRejected = false;
try {
  await client.refreshTokenGrant(config, tokens.refresh_token);
} catch (error) {
  reuseRejected = error.error === "invalid_grant";
}
check("reused refresh token is invalid_grant", reuseRejected);

const logoutUrl = client.buildEndSessionUrl(config, {
  id_token_hint: refreshed.id_token ?? tokens.id_token,
  post_logout_redirect_uri: postLogoutRedirectUri,
  state: "bye",
});
const logout = await browse(logoutUrl.toString());
check("logout redirects with state", logout.headers.get("location") === `${postLogoutRedirectUri}?state=bye`, logout.headers.get("location"));

const silent = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid",
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
  prompt: "none",
});
const afterLogout = (await browse(silent.toString())).headers.get("location") ?? "";
check("prompt=none after logout is login_required", new URL(afterLogout).searchParams.get("error") === "login_required", afterLogout);

console.log(`openid-client: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
