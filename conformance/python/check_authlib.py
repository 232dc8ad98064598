"""Run the authorization code flow with PKCE, UserInfo, refresh and RP-initiated logout with Authlib.

Uses Authlib's requests client (OAuth2Session) for the OAuth exchanges and Authlib's OpenID
Connect claim classes, on keys from the server's JWKS, to verify ID tokens.

Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
PHONE (11 digits), SMS_OUTBOX (path of the development SMS outbox), NEW_PASSWORD.
"""

from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken, UserInfo
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet

from hosted_login import Browser, Report, account_from_env, require_env, sign_in

LEEWAY_SECONDS = 60

issuer = require_env("ISSUER")
client_id = require_env("CLIENT_ID")
redirect_uri = require_env("REDIRECT_URI")
post_logout_redirect_uri = require_env("POST_LOGOUT_REDIRECT_URI")
account = account_from_env()
report = Report("authlib")
check = report.check
browser = Browser(issuer)


def fetch_metadata():
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    response.raise_for_status()
    metadata = OpenIDProviderMetadata(response.json())
    metadata.validate()
    return metadata


def verify_id_token(id_token, nonce=None, access_token=None):
    """Verify the signature against the JWKS, then iss, aud, exp, iat, nonce, azp and at_hash."""
    jwks = requests.get(metadata["jwks_uri"], timeout=10).json()
    decoded = jwt.decode(
        id_token,
        KeySet.import_key_set(jwks),
        algorithms=metadata["id_token_signing_alg_values_supported"],
    )
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
    }
    params = {"client_id": client_id, "nonce": nonce, "access_token": access_token}
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate(leeway=LEEWAY_SECONDS)
    return claims


def query(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


metadata = report.step("discovery metadata valid", fetch_metadata)
if metadata is None:
    report.finish()
check("discovery issuer matches", metadata["issuer"] == issuer, metadata["issuer"])
check("S256 advertised", "S256" in metadata.get("code_challenge_methods_supported", []))

session = OAuth2Session(
    client_id,
    require_env("CLIENT_SECRET"),
    token_endpoint_auth_method="client_secret_basic",
    scope="openid profile phone",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
)
code_verifier = generate_token(64)
nonce = generate_token(24)
authorization_url, state = session.create_authorization_url(
    metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
)

callback = report.step("sign-in", lambda: sign_in(browser, authorization_url, redirect_uri, account))
if callback is None:
    report.finish()
check("sign-in returns to the client", callback.startswith(redirect_uri), callback)
check("authorization response carries iss", query(callback).get("iss") == issuer, callback)

# fetch_token checks that the callback's state equals the one sent.
token = report.step(
    "code exchange",
    lambda: session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=code_verifier,
    ),
)
if token is None:
    report.finish()
check("token_type is Bearer", token.get("token_type", "").lower() == "bearer", token.get("token_type"))
check("refresh token issued", bool(token.get("refresh_token")))

claims = report.step(
    "ID token verified (signature, iss, aud, nonce, azp, at_hash)",
    lambda: verify_id_token(token["id_token"], nonce=nonce, access_token=token["access_token"]),
)
if claims is None:
    report.finish()
check("ID token nonce", claims.get("nonce") == nonce)


def fetch_userinfo():
    response = session.get(metadata["userinfo_endpoint"], timeout=10)
    response.raise_for_status()
    return UserInfo(response.json())


userinfo = report.step("UserInfo", fetch_userinfo) or {}
check("UserInfo sub matches", userinfo.get("sub") == claims["sub"], str(userinfo))
check("UserInfo phone_number", userinfo.get("phone_number") == f"+86{account.phone}", str(userinfo))

original_refresh_token = token["refresh_token"]
refreshed = report.step(
    "refresh",
    lambda: dict(
        session.refresh_token(metadata["token_endpoint"], refresh_token=original_refresh_token)
    ),
)
refreshed = refreshed or {}
check(
    "refresh returns a new refresh token",
    refreshed.get("refresh_token") not in (None, original_refresh_token),
)
latest_id_token = token["id_token"]
if refreshed.get("id_token"):
    # OpenID Connect Core 1.0 section 12.2: a refreshed ID token keeps iss, sub, aud and the
    # auth_time of the original authentication.
    new_claims = report.step(
        "refreshed ID token verified",
        lambda: verify_id_token(refreshed["id_token"], access_token=refreshed.get("access_token")),
    )
    if new_claims is not None:
        latest_id_token = refreshed["id_token"]
        check("refreshed ID token keeps sub", new_claims["sub"] == claims["sub"])
        check(
            "refreshed ID token keeps auth_time",
            new_claims.get("auth_time") == claims.get("auth_time"),
            f"{new_claims.get('auth_time')} != {claims.get('auth_time')}",
        )


def reuse_error():
    try:
        session.refresh_token(metadata["token_endpoint"], refresh_token=original_refresh_token)
    except Exception as error:  # noqa: BLE001 - the error code is what is checked
        return getattr(error, "error", repr(error))
    return "no error"


reused = reuse_error()
check("reused refresh token is invalid_grant", reused == "invalid_grant", reused)

logout_url = add_params_to_uri(
    metadata["end_session_endpoint"],
    {
        "id_token_hint": latest_id_token,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "state": "bye",
    },
)
after_logout = browser.location(logout_url)
check(
    "logout redirects with state",
    after_logout == f"{post_logout_redirect_uri}?state=bye",
    after_logout,
)

silent_url, silent_state = session.create_authorization_url(
    metadata["authorization_endpoint"], code_verifier=code_verifier, scope="openid", prompt="none"
)
silent = query(browser.location(silent_url))
check("prompt=none after logout is login_required", silent.get("error") == "login_required", str(silent))
check("prompt=none error echoes state", silent.get("state") == silent_state, str(silent))

report.finish()
