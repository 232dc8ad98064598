"""Run the authorization code flow with PKCE, UserInfo, refresh and RP-initiated logout with idpyoidc.

Uses idpyoidc's RPHandler (begin, finalize, refresh_access_token, logout), which verifies the ID
token itself: signature against the provider's JWKS, iss, aud, azp, exp, iat and nonce.

Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
PHONE (11 digits), SMS_OUTBOX (path of the development SMS outbox), NEW_PASSWORD.
"""

import logging
import os
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptojwt.key_jar import KeyJar
from idpyoidc.client.rp_handler import RPHandler

from hosted_login import Browser, Report, account_from_env, require_env, sign_in

issuer = require_env("ISSUER")
client_id = require_env("CLIENT_ID")
redirect_uri = require_env("REDIRECT_URI")
post_logout_redirect_uri = require_env("POST_LOGOUT_REDIRECT_URI")
account = account_from_env()
report = Report("idpyoidc")

# idpyoidc logs a warning on every JSON response (it compares the media type with its internal
# body type name "json") and an error on every OAuth error response, including the expected ones.
if not os.environ.get("CONFORMANCE_TRACE"):
    logging.getLogger("idpyoidc").setLevel(logging.CRITICAL)
check = report.check
browser = Browser(issuer)

SCOPE = ["openid", "profile", "phone"]

# A statically registered client: no dynamic registration service, PKCE with S256.
CLIENT_CONFIG = {
    "issuer": issuer,
    "client_id": client_id,
    "client_secret": require_env("CLIENT_SECRET"),
    "client_type": "oidc",
    "redirect_uris": [redirect_uri],
    "post_logout_redirect_uris": [post_logout_redirect_uri],
    # Without this list each service accepts only its own default method, which is
    # client_secret_post for the refresh service.
    "client_authn_methods": ["client_secret_basic"],
    "preference": {
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": SCOPE,
    },
    "add_ons": {
        "pkce": {
            "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
            "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
        }
    },
    "services": {
        "discovery": {
            "class": "idpyoidc.client.oidc.provider_info_discovery.ProviderInfoDiscovery"
        },
        "authorization": {"class": "idpyoidc.client.oidc.authorization.Authorization"},
        "access_token": {"class": "idpyoidc.client.oidc.access_token.AccessToken"},
        "refresh_access_token": {
            "class": "idpyoidc.client.oidc.refresh_access_token.RefreshAccessToken"
        },
        "userinfo": {"class": "idpyoidc.client.oidc.userinfo.UserInfo"},
        "end_session": {"class": "idpyoidc.client.oidc.end_session.EndSession"},
    },
}


def query(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def oauth_error(action):
    try:
        response = action()
    except Exception as error:  # noqa: BLE001 - the error code is what is checked
        return str(error)
    if "error" in response:
        return response["error"]
    return "no error"


# An empty key jar, because the client has no keys of its own. Without one RPHandler generates
# keys and writes them to the working directory.
handler = RPHandler(
    base_url=redirect_uri.rsplit("/", 1)[0],
    client_configs={issuer: CLIENT_CONFIG},
    keyjar=KeyJar(),
)

authorization_url = report.step(
    "begin (discovery and authorization request)",
    lambda: handler.begin(issuer_id=issuer, req_args={"scope": SCOPE}),
)
if authorization_url is None:
    report.finish()
request = query(authorization_url)
check("authorization request uses S256", request.get("code_challenge_method") == "S256", str(request))
check("authorization request carries a nonce", bool(request.get("nonce")))
client = handler.issuer2rp[issuer]
metadata = client.get_context().provider_info
check("discovery issuer matches", metadata.get("issuer") == issuer, str(metadata.get("issuer")))

callback = report.step(
    "sign-in", lambda: sign_in(browser, authorization_url, redirect_uri, account)
)
if callback is None:
    report.finish()
check("sign-in returns to the client", callback.startswith(redirect_uri), callback)
check("authorization response carries iss", query(callback).get("iss") == issuer, callback)

# finalize checks the authorization response's state, exchanges the code with the PKCE verifier,
# verifies the ID token and calls UserInfo.
result = report.step("finalize (code exchange, ID token, UserInfo)", lambda: handler.finalize(issuer, query(callback)))
if result is None or "error" in result:
    check("finalize without error", False, str(result))
    report.finish()
state = result["state"]
id_token = result["id_token"]
userinfo = result["userinfo"]
check("ID token iss", id_token["iss"] == issuer, id_token["iss"])
check("ID token aud", client_id in id_token["aud"], str(id_token["aud"]))
check("ID token nonce", id_token.get("nonce") == request.get("nonce"))
check("ID token azp when present", id_token.get("azp", client_id) == client_id, str(id_token.get("azp")))
check("UserInfo sub matches", userinfo.get("sub") == id_token["sub"], str(userinfo.to_dict()))
check(
    "UserInfo phone_number",
    userinfo.get("phone_number") == f"+86{account.phone}",
    str(userinfo.to_dict()),
)

session = handler.get_session_information(state)
original_refresh_token = session.get("refresh_token")
check("refresh token issued", bool(original_refresh_token))

refreshed = report.step("refresh", lambda: handler.refresh_access_token(state))
if refreshed is not None:
    check(
        "refresh returns a new refresh token",
        refreshed.get("refresh_token") not in (None, original_refresh_token),
    )
    new_id_token = refreshed.get("__verified_id_token")
    if new_id_token is not None:
        check("refreshed ID token keeps sub", new_id_token["sub"] == id_token["sub"])


def refresh_with_original():
    return client.do_request(
        "refresh_token",
        request_args={"refresh_token": original_refresh_token},
        state=state,
        authn_method="client_secret_basic",
    )


reused = oauth_error(refresh_with_original)
check("reused refresh token is invalid_grant", reused == "invalid_grant", reused)

# logout returns the end-session request with id_token_hint, post_logout_redirect_uri and a
# state of its own.
logout = report.step("logout request", lambda: handler.logout(state))
if logout is not None:
    logout_request = query(logout["url"])
    check("logout request carries id_token_hint", bool(logout_request.get("id_token_hint")))
    after_logout = browser.location(logout["url"])
    expected = f"{post_logout_redirect_uri}?{urlencode({'state': logout_request.get('state')})}"
    check("logout redirects with state", after_logout == expected, after_logout)

silent_url = report.step(
    "authorization request with prompt=none",
    lambda: handler.begin(issuer_id=issuer, req_args={"scope": ["openid"], "prompt": "none"}),
)
if silent_url is not None:
    silent = query(browser.location(silent_url))
    check("prompt=none after logout is login_required", silent.get("error") == "login_required", str(silent))
    check("prompt=none error echoes state", silent.get("state") == query(silent_url).get("state"), str(silent))

report.finish()
