"""Modules of oidcc-rp-initiated-logout-certification-test-plan and
oidcc-backchannel-rp-initiated-logout-certification-test-plan (OpenID Connect RP-Initiated
Logout 1.0 and Back-Channel Logout 1.0)."""

import base64
import json
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .outcome import Failed, expect
from .provider import random_value

# Errors that tell the client the user has to interact (OpenID Connect Core §3.1.2.6), the
# expected response to prompt=none once the session is gone.
INTERACTION_ERRORS = {"login_required", "interaction_required", "consent_required", "account_selection_required"}
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# unilogin delivers logout tokens from a queue within about 2 s of the logout. The longer
# wait leaves room for a busy machine.
BACKCHANNEL_WAIT_SECONDS = 10


def _signed_in(ctx, client=None):
    browser = ctx.browser()
    return browser, ctx.code_flow(browser, client=client)


def _logout(ctx, browser, params):
    """Send the browser to the end-session endpoint, confirm the logout if the provider shows
    a confirmation form, and return where the browser ends up."""
    url = ctx.provider.endpoint("end_session_endpoint")
    if params:
        url += "?" + urllib.parse.urlencode(params)
    outcome = browser.open(url)
    if outcome.location:
        return outcome
    confirmation = ctx.driver.confirm_logout(browser, outcome.page)
    if confirmation is None:
        return outcome
    return browser.follow(confirmation)


def _expect_logged_out(ctx, browser, client=None):
    authorization = ctx.authorization(client, prompt="none")
    ctx.expect_error_redirect(browser, authorization, INTERACTION_ERRORS)


def _expect_no_redirect_to(outcome, uri):
    expect(
        not outcome.location.startswith(uri),
        f"the provider redirected to {outcome.location} although it must not",
    )


def _expect_redirect(outcome, uri, state):
    expect(outcome.location, f"no redirect to post_logout_redirect_uri: {outcome.describe()}")
    base, _, query = outcome.location.partition("?")
    expect(base == uri, f"redirected to {outcome.location}, not {uri}")
    params = urllib.parse.parse_qs(query)
    expected = {"state": [state]} if state is not None else {}
    # RP-Initiated Logout 1.0 §3: state comes back unchanged, and nothing else is added.
    expect(params == expected, f"post-logout redirect parameters {params} != {expected}")


def check_rp_initiated_logout(ctx):
    """oidcc-rp-initiated-logout: redirect with state, then prompt=none fails."""
    browser, tokens = _signed_in(ctx)
    uri = ctx.settings.post_logout_redirect_uri
    state = random_value(96)
    outcome = _logout(ctx, browser, {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri, "state": state})
    _expect_redirect(outcome, uri, state)
    _expect_logged_out(ctx, browser)


def _expect_rejected(ctx, params, uri):
    browser, _ = _signed_in(ctx)
    outcome = _logout(ctx, browser, params)
    _expect_no_redirect_to(outcome, uri)


def check_bad_post_logout_redirect_uri(ctx):
    """oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered URI is never
    redirected to."""
    browser, tokens = _signed_in(ctx)
    uri = ctx.settings.post_logout_redirect_uri + "/not-registered"
    outcome = _logout(ctx, browser, {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri, "state": "s"})
    _expect_no_redirect_to(outcome, uri)


def check_query_added_to_post_logout_redirect_uri(ctx):
    """oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: a query makes the
    URI differ from the registered one, so no redirect."""
    browser, tokens = _signed_in(ctx)
    uri = ctx.settings.post_logout_redirect_uri
    uri += ("&" if "?" in uri else "?") + "foo=bar"
    outcome = _logout(ctx, browser, {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri, "state": "s"})
    _expect_no_redirect_to(outcome, ctx.settings.post_logout_redirect_uri)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check_modified_id_token_hint(ctx):
    """oidcc-rp-initiated-logout-modified-id-token-hint: the hint re-encoded with alg none and
    no signature is not trusted, so no redirect."""
    browser, tokens = _signed_in(ctx)
    header_part, payload_part, _ = tokens.id_token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
    header["alg"] = "none"
    modified = f"{_b64(json.dumps(header).encode())}.{payload_part}."
    uri = ctx.settings.post_logout_redirect_uri
    outcome = _logout(ctx, browser, {"id_token_hint": modified, "post_logout_redirect_uri": uri, "state": "s"})
    _expect_no_redirect_to(outcome, uri)


def check_bad_id_token_hint(ctx):
    """oidcc-rp-initiated-logout-bad-id-token-hint: the hint's claims signed by a key that is
    not the provider's, so no redirect."""
    browser, tokens = _signed_in(ctx)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = jwt.get_unverified_header(tokens.id_token)
    forged = jwt.encode(tokens.id_claims, foreign_key, algorithm="RS256", headers={"kid": header.get("kid")})
    uri = ctx.settings.post_logout_redirect_uri
    outcome = _logout(ctx, browser, {"id_token_hint": forged, "post_logout_redirect_uri": uri, "state": "s"})
    _expect_no_redirect_to(outcome, uri)


def check_no_id_token_hint(ctx):
    """oidcc-rp-initiated-logout-no-id-token-hint: without a hint (or client_id) the
    provider cannot check the URI, so no redirect."""
    uri = ctx.settings.post_logout_redirect_uri
    _expect_rejected(ctx, {"post_logout_redirect_uri": uri, "state": "s"}, uri)


def _expect_logout_without_redirect(ctx, params_for):
    browser, tokens = _signed_in(ctx)
    outcome = _logout(ctx, browser, params_for(tokens))
    expect(not outcome.location, f"the provider redirected although no post_logout_redirect_uri was sent: {outcome.location}")
    expect(outcome.page.status_code < 400, f"logout page failed: {outcome.describe()}")
    _expect_logged_out(ctx, browser)


def check_no_params(ctx):
    """oidcc-rp-initiated-logout-no-params: the user is logged out (after confirming)."""
    _expect_logout_without_redirect(ctx, lambda tokens: {})


def check_no_post_logout_redirect_uri(ctx):
    """oidcc-rp-initiated-logout-no-post-logout-redirect-uri: hint and state only; logged out,
    no redirect."""
    _expect_logout_without_redirect(ctx, lambda tokens: {"id_token_hint": tokens.id_token, "state": "s"})


def check_only_state(ctx):
    """oidcc-rp-initiated-logout-only-state: logged out, no redirect."""
    _expect_logout_without_redirect(ctx, lambda tokens: {"state": random_value()})


def check_no_state(ctx):
    """oidcc-rp-initiated-logout-no-state: redirect without a state parameter."""
    browser, tokens = _signed_in(ctx)
    uri = ctx.settings.post_logout_redirect_uri
    outcome = _logout(ctx, browser, {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri})
    _expect_redirect(outcome, uri, None)
    _expect_logged_out(ctx, browser)


def check_backchannel_logout(ctx):
    """oidcc-backchannel-rp-initiated-logout: a logout token with the session's sid is POSTed
    to the client's backchannel_logout_uri, the browser is redirected, prompt=none fails."""
    path = f"/backchannel-logout/{random_value(12)}"
    client = ctx.settings.register_backchannel_client_for(ctx.receiver.base_url + path)
    browser, tokens = _signed_in(ctx, client)
    expect("sid" in tokens.id_claims, "ID token has no sid although backchannel_logout_session_supported")

    uri = ctx.settings.post_logout_redirect_uri
    state = random_value(96)
    outcome = _logout(ctx, browser, {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": uri, "state": state})
    _expect_redirect(outcome, uri, state)

    request = ctx.receiver.wait_for_logout(path, BACKCHANNEL_WAIT_SECONDS)
    expect(request is not None, f"no back-channel logout request within {BACKCHANNEL_WAIT_SECONDS} s")
    expect(
        request["content_type"].startswith("application/x-www-form-urlencoded"),
        f"back-channel logout Content-Type is {request['content_type']!r}",
    )
    expect(list(request["form"]) == ["logout_token"], f"back-channel logout parameters: {sorted(request['form'])}")
    expect(len(request["form"]["logout_token"]) == 1, "logout_token sent more than once")
    _check_logout_token(ctx, request["form"]["logout_token"][0], client, tokens.id_claims)
    _expect_logged_out(ctx, browser, client)


def _check_logout_token(ctx, token, client, id_claims):
    """Validate a logout token as Back-Channel Logout 1.0 §2.4 and §2.6 describe."""
    _, claims = ctx.provider.verify_jwt(token, client.client_id, typ="logout+jwt")
    now = time.time()
    for name in ("iss", "aud", "iat", "exp", "jti", "events"):
        expect(name in claims, f"logout token has no {name}: {sorted(claims)}")
    expect(claims["exp"] > now - 300, "logout token has expired")
    events = claims["events"]
    expect(isinstance(events, dict), f"events is {events!r}")
    expect(events.get(BACKCHANNEL_EVENT) == {}, f"events is {events!r}, expected {{{BACKCHANNEL_EVENT!r}: {{}}}}")
    expect("nonce" not in claims, "logout token has a nonce")
    expect("sid" in claims or "sub" in claims, "logout token has neither sid nor sub")
    if "sid" in claims:
        expect(claims["sid"] == id_claims.get("sid"), f"logout token sid {claims['sid']!r} != ID token sid {id_claims.get('sid')!r}")
    if "sub" in claims:
        expect(claims["sub"] == id_claims["sub"], f"logout token sub {claims['sub']!r} != ID token sub")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise Failed(f"jti is {claims['jti']!r}")
