// Client authentication with private_key_jwt (RFC 7523 section 2.2, OpenID Connect Core section
// 9): loads the client's private key, and checks by hand that the token endpoint rejects
// assertions that a conforming server must not accept.
import { readFileSync } from "node:fs";

const ES256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Reads the private JWK that generate-key.mjs wrote and returns it as the { key, kid } pair
// that oauth.PrivateKeyJwt takes.
export async function loadPrivateKey(path) {
  const { kid, ...jwk } = JSON.parse(readFileSync(path, "utf8"));
  const key = await crypto.subtle.importKey("jwk", jwk, ES256, false, ["sign"]);
  return { key, kid };
}

function base64url(data) {
  return Buffer.from(data).toString("base64url");
}

// Signs a compact JWS. WebCrypto returns an ECDSA signature as r || s, which is the JWS form
// (RFC 7518 section 3.4), so it needs no conversion.
async function signAssertion({ key, kid }, claims) {
  const header = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid }));
  const payload = base64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature = await crypto.subtle.sign(ES256, key, new TextEncoder().encode(input));
  return `${input}.${base64url(signature)}`;
}

function assertionClaims(as, clientId, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: clientId,
    sub: clientId,
    aud: as.issuer,
    jti: crypto.randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 60,
    ...overrides,
  };
}

// Sends a refresh grant with an unknown refresh token, so that an accepted assertion gives 400
// invalid_grant and a rejected one 401 invalid_client (RFC 6749 section 5.2). Returns the HTTP
// status and the error code.
async function tokenRequest(as, clientId, assertion) {
  const response = await fetch(as.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: "not-a-refresh-token",
      client_id: clientId,
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    }),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, error: body.error ?? "no error code" };
}

function isInvalidClient(result) {
  return result.status === 401 && result.error === "invalid_client";
}

export async function checkClientAssertions(report, as, clientId, privateKey) {
  const accepted = await signAssertion(privateKey, assertionClaims(as, clientId));
  const first = await tokenRequest(as, clientId, accepted);
  // Without this baseline the rejections below could come from a fault in the hand-made
  // assertion itself rather than from the property each one breaks.
  report.check(
    "hand-made assertion authenticates",
    first.status === 400 && first.error === "invalid_grant",
    `HTTP ${first.status} ${first.error}`,
  );

  // RFC 7523 section 3, item 7: the server may reject a jti it has already seen. OpenID Connect
  // Core section 9 makes jti single-use for private_key_jwt.
  const replayed = await tokenRequest(as, clientId, accepted);
  report.check("replayed jti is invalid_client", isInvalidClient(replayed), `HTTP ${replayed.status} ${replayed.error}`);

  // draft-ietf-oauth-rfc7523bis (work in progress, 2026) closes the audience injection attack:
  // the server must reject any assertion whose sole aud is not its issuer identifier, and the
  // token endpoint URL must not be used as aud.
  const tokenEndpointAudience = await signAssertion(privateKey, assertionClaims(as, clientId, { aud: as.token_endpoint }));
  const audience = await tokenRequest(as, clientId, tokenEndpointAudience);
  report.check("aud token endpoint is invalid_client", isInvalidClient(audience), `HTTP ${audience.status} ${audience.error}`);

  // Ten minutes past exp, so a server with up to ten minutes of clock leeway still rejects it.
  const now = Math.floor(Date.now() / 1000);
  const expiredClaims = assertionClaims(as, clientId, { iat: now - 660, nbf: now - 660, exp: now - 600 });
  const expired = await tokenRequest(as, clientId, await signAssertion(privateKey, expiredClaims));
  report.check("expired assertion is invalid_client", isInvalidClient(expired), `HTTP ${expired.status} ${expired.error}`);

  // The other key carries the registered kid, so only the signature check can reject it.
  const otherPair = await crypto.subtle.generateKey(ES256, false, ["sign", "verify"]);
  const otherKey = { key: otherPair.privateKey, kid: privateKey.kid };
  const forged = await tokenRequest(as, clientId, await signAssertion(otherKey, assertionClaims(as, clientId)));
  report.check("assertion signed by another key is invalid_client", isInvalidClient(forged), `HTTP ${forged.status} ${forged.error}`);
}
