"""Modules of oidcc-basic-certification-test-plan that need no request objects: the happy
flow, ID token, UserInfo, scopes, prompt, max_age and authorization code rules."""

import time

import jwt

from .outcome import Failed, Skipped, expect
from .provider import ANY_NONCE, describe

# Claims OpenID Connect Core §5.4 assigns to each scope.
SCOPE_CLAIMS = {
    "profile": {
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    },
    "email": {"email", "email_verified"},
    "address": {"address"},
    "phone": {"phone_number", "phone_number_verified"},
}


def check_server(ctx):
    """oidcc-server: code flow with state, nonce and PKCE; callback and ID token checked."""
    ctx.code_flow()


def check_response_type_missing(ctx):
    """oidcc-response-type-missing: an error by redirect, or an error page."""
    browser = ctx.browser()
    authorization = ctx.authorization(response_type=None)
    outcome = browser.open(ctx.authorization_url(authorization))
    if outcome.location:
        expect(outcome.location.startswith(ctx.settings.redirect_uri), f"unexpected {outcome.describe()}")
        query = outcome.query()
        expect("code" not in query, "a code was issued without response_type")
        expect(
            query.get("error") in ("invalid_request", "unsupported_response_type"),
            f"error is {query.get('error')!r}",
        )
        ctx.check_callback(query, authorization)
        return
    expect(outcome.page.status_code >= 400 or "error" in outcome.page.text.lower(), outcome.describe())


def check_idtoken_signature(ctx):
    """oidcc-idtoken-signature: RS256 by default, verifiable against the JWKS, kid present
    when the JWKS has several keys."""
    tokens = ctx.code_flow()
    header = jwt.get_unverified_header(tokens.id_token)
    expect(header["alg"] == "RS256", f"default ID token alg is {header['alg']}, expected RS256")
    if len(ctx.provider.jwks.get("keys", [])) > 1:
        expect(header.get("kid"), "ID token has no kid although the JWKS has several keys")


def check_idtoken_unsigned(ctx):
    """oidcc-idtoken-unsigned: alg none, only for providers that advertise it."""
    algs = ctx.provider.metadata.get("id_token_signing_alg_values_supported", [])
    if "none" not in algs:
        raise Skipped(f"id_token_signing_alg_values_supported is {algs}, without none")
    raise Skipped("alg none is advertised, but the run registers no client with id_token_signed_response_alg none")


def _userinfo(ctx, placement):
    tokens = ctx.code_flow(scope="openid profile")
    return ctx.userinfo(tokens, placement)


def check_userinfo_get(ctx):
    """oidcc-userinfo-get: GET with the bearer token in the header."""
    _userinfo(ctx, "get")


def check_userinfo_post_header(ctx):
    """oidcc-userinfo-post-header: POST with the bearer token in the header."""
    _userinfo(ctx, "post-header")


def check_userinfo_post_body(ctx):
    """oidcc-userinfo-post-body: POST with access_token in the form body (RFC 6750 §2.2,
    optional for the provider, so a rejection is a warning)."""
    tokens = ctx.code_flow(scope="openid profile")
    response = ctx.provider.userinfo(tokens.access_token, "post-body")
    if response.status_code != 200:
        ctx.warn(f"access token in the body not accepted: {response.status_code}")
        return
    claims = response.json()
    expect(claims.get("sub") == tokens.id_claims["sub"], "UserInfo sub differs from the ID token")


def check_without_nonce(ctx):
    """oidcc-ensure-request-without-nonce-succeeds-for-code-flow."""
    tokens = ctx.code_flow(nonce=None)
    expect("nonce" not in tokens.id_claims, "ID token has a nonce that was never sent")


def _scope_check(ctx, scopes):
    supported = ctx.provider.metadata.get("scopes_supported", [])
    missing = [s for s in scopes if s not in supported]
    if missing:
        raise Skipped(f"scopes_supported {supported} lacks {missing}")
    tokens = ctx.code_flow(scope="openid " + " ".join(scopes))
    claims = ctx.userinfo(tokens)
    for scope in scopes:
        if not SCOPE_CLAIMS[scope] & set(claims):
            # The suite reports a scope without any of its claims as a warning (Core §5.4).
            ctx.warn(f"UserInfo has no {scope} claim: {sorted(claims)}")
    return claims


def check_scope_profile(ctx):
    """oidcc-scope-profile."""
    _scope_check(ctx, ["profile"])


def check_scope_email(ctx):
    """oidcc-scope-email."""
    _scope_check(ctx, ["email"])


def check_scope_address(ctx):
    """oidcc-scope-address."""
    _scope_check(ctx, ["address"])


def check_scope_phone(ctx):
    """oidcc-scope-phone."""
    _scope_check(ctx, ["phone"])


def check_scope_all(ctx):
    """oidcc-scope-all: profile, email, address and phone together."""
    _scope_check(ctx, ["profile", "email", "address", "phone"])


def check_other_scope_order(ctx):
    """oidcc-ensure-other-scope-order-succeeds: scope values in another order."""
    supported = ctx.provider.metadata.get("scopes_supported", [])
    extra = next((s for s in ("email", "profile", "phone") if s in supported), None)
    if extra is None:
        raise Skipped("scopes_supported offers no scope besides openid")
    ctx.code_flow(scope=f"{extra} openid")


def check_parameter_succeeds(name, value):
    def check(ctx):
        ctx.code_flow(**{name: value})

    check.__doc__ = f"A request with {name}={value} succeeds."
    return check


def check_login_hint(ctx):
    """oidcc-login-hint: a login_hint the provider may use to prefill the form."""
    ctx.code_flow(login_hint=ctx.driver.login_hint())


def check_acr_values(ctx):
    """oidcc-ensure-request-with-acr-values-succeeds: acr_values "1 2" (voluntary)."""
    tokens = ctx.code_flow(acr_values="1 2")
    if "acr" not in tokens.id_claims:
        ctx.warn("ID token has no acr claim")


def check_prompt_login(ctx):
    """oidcc-prompt-login: a second sign-in with prompt=login, so auth_time increases."""
    browser = ctx.browser()
    first = ctx.code_flow(browser)
    time.sleep(1.5)
    second = ctx.code_flow(browser, prompt="login")
    _expect_reauthenticated(first, second)


def _expect_reauthenticated(first, second):
    """Check that `second` comes from a new sign-in after `first` was issued."""
    expect("auth_time" in second.id_claims, "ID token has no auth_time although re-authentication was requested")
    # auth_time is optional in the first ID token. Its iat is after the first sign-in, so a
    # new sign-in at least a second later has a larger auth_time either way.
    before = first.id_claims.get("auth_time", first.id_claims["iat"])
    expect(
        second.id_claims["auth_time"] > before,
        f"auth_time {second.id_claims['auth_time']} is not after the first sign-in ({before})",
    )
    expect(second.id_claims["sub"] == first.id_claims["sub"], "sub changed between the sign-ins")


def check_prompt_none_not_logged_in(ctx):
    """oidcc-prompt-none-not-logged-in: an error (login_required and similar) by redirect."""
    authorization = ctx.authorization(prompt="none")
    ctx.expect_error_redirect(
        ctx.browser(),
        authorization,
        {"login_required", "interaction_required", "consent_required", "account_selection_required"},
    )


def check_prompt_none_logged_in(ctx):
    """oidcc-prompt-none-logged-in: silent sign-in with the same sub."""
    browser = ctx.browser()
    first = ctx.code_flow(browser)
    authorization = ctx.authorization(prompt="none")
    code = ctx.code(browser, authorization)
    second = ctx.redeem(code, authorization)
    expect(second.id_claims["sub"] == first.id_claims["sub"], "sub differs")


def check_max_age_1(ctx):
    """oidcc-max-age-1: after 1 s the user signs in again and auth_time increases."""
    browser = ctx.browser()
    first = ctx.code_flow(browser)
    time.sleep(2)
    second = ctx.code_flow(browser, max_age="1")
    _expect_reauthenticated(first, second)


def check_max_age_10000(ctx):
    """oidcc-max-age-10000: no new sign-in, auth_time unchanged."""
    browser = ctx.browser()
    first = ctx.code_flow(browser)
    authorization = ctx.authorization(max_age="10000")
    outcome = browser.open(ctx.authorization_url(authorization))
    expect(outcome.location, f"the provider asked to sign in again: {outcome.describe()}")
    query = outcome.query()
    ctx.check_callback(query, authorization)
    expect("code" in query, f"no code: {query}")
    second = ctx.redeem(query["code"], authorization)
    expect("auth_time" in second.id_claims, "ID token has no auth_time although max_age was sent")
    # Without a new sign-in auth_time stays that of the first one, which was before the first
    # ID token was issued.
    first_auth_time = first.id_claims.get("auth_time")
    if first_auth_time is None:
        expect(
            second.id_claims["auth_time"] <= first.id_claims["iat"],
            f"auth_time {second.id_claims['auth_time']} is after the first ID token's iat {first.id_claims['iat']}",
        )
    else:
        expect(
            second.id_claims["auth_time"] == first_auth_time,
            f"auth_time changed without a new sign-in ({first_auth_time} -> {second.id_claims['auth_time']})",
        )


def check_id_token_hint(ctx):
    """oidcc-id-token-hint: prompt=none with the previous ID token as hint is silent."""
    browser = ctx.browser()
    first = ctx.code_flow(browser)
    authorization = ctx.authorization(prompt="none", id_token_hint=first.id_token)
    code = ctx.code(browser, authorization)
    second = ctx.redeem(code, authorization)
    expect(second.id_claims["sub"] == first.id_claims["sub"], "sub differs from the hint")


def _code_reuse(ctx, wait):
    browser = ctx.browser()
    authorization = ctx.authorization()
    code = ctx.code(browser, authorization)
    tokens = ctx.redeem(code, authorization)
    if wait:
        time.sleep(wait)
    again = ctx.provider.exchange_code(ctx.settings.client, code, authorization.verifier)
    expect(again.status_code == 400, f"second use of the code: {describe(again)}")
    expect(again.json().get("error") == "invalid_grant", f"second use of the code: {describe(again)}")
    # RFC 6749 §4.1.2: the provider SHOULD revoke tokens issued from a replayed code.
    userinfo = ctx.provider.userinfo(tokens.access_token)
    return userinfo


def check_code_reuse(ctx):
    """oidcc-codereuse: second use gives invalid_grant; the first access token stops working."""
    userinfo = _code_reuse(ctx, 0)
    expect(userinfo.status_code == 401, f"access token from a replayed code still works: {describe(userinfo)}")


def check_code_reuse_30_seconds(ctx):
    """oidcc-codereuse-30seconds: the same after 30 s; a working token is a warning."""
    userinfo = _code_reuse(ctx, 30)
    if userinfo.status_code == 200:
        ctx.warn("access token from a replayed code still works")


def check_registered_redirect_uri(ctx):
    """oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gives an error page
    and never a redirect (RFC 6749 §4.1.2.1)."""
    unregistered = ctx.settings.redirect_uri + "/not-registered"
    authorization = ctx.authorization(redirect_uri=unregistered)
    outcome = ctx.browser().open(ctx.authorization_url(authorization))
    expect(not outcome.location, f"the provider redirected: {outcome.location}")
    expect(outcome.page.status_code >= 400 or "error" in outcome.page.text.lower(), outcome.describe())


def check_post_request(ctx):
    """oidcc-ensure-post-request-succeeds: the request as a form POST (Core §3.1.2.1)."""
    ctx.code_flow(method="POST")


def check_client_secret_post(ctx):
    """oidcc-server-client-secret-post: client authentication in the form body."""
    ctx.code_flow(client=ctx.settings.client_post)


def check_unknown_parameter(ctx):
    """oidcc-ensure-request-with-unknown-parameter-succeeds: extra=foobar is ignored."""
    ctx.code_flow(extra="foobar")


def check_valid_pkce(ctx):
    """oidcc-ensure-request-with-valid-pkce-succeeds: S256 challenge and verifier."""
    ctx.code_flow()


def check_refresh_token(ctx):
    """oidcc-refresh-token: refresh gives 200, no-store and a consistent ID token; client2's
    refresh token used by client1 gives invalid_grant."""
    tokens = ctx.code_flow()
    refresh_token = tokens.response.get("refresh_token")
    if not refresh_token:
        raise Skipped("the token response has no refresh_token")
    # The suite requires at least 128 bits of entropy, and 22 base64url characters carry 132.
    expect(len(refresh_token) >= 22, f"refresh token is only {len(refresh_token)} characters")

    response = ctx.provider.refresh(ctx.settings.client, refresh_token)
    refreshed = ctx.provider.check_token_response(response)
    claims = ctx.provider.verify_id_token(refreshed["id_token"], ctx.settings.client, ANY_NONCE)
    # Core §12.2: iss, sub, aud and azp as before, auth_time unchanged when present, and a
    # nonce, if present, equal to the original one.
    for name in ("iss", "sub", "aud", "auth_time", "azp"):
        expect(
            claims.get(name) == tokens.id_claims.get(name),
            f"refreshed ID token {name} {claims.get(name)!r} != {tokens.id_claims.get(name)!r}",
        )
    if "nonce" in claims:
        expect(claims["nonce"] == tokens.id_claims.get("nonce"), "refreshed ID token has another nonce")

    other = ctx.code_flow(client=ctx.settings.client2)
    other_refresh = other.response.get("refresh_token")
    expect(other_refresh, "client2 got no refresh token")
    stolen = ctx.provider.refresh(ctx.settings.client, other_refresh)
    expect(stolen.status_code == 400, f"client2's refresh token used by client1: {describe(stolen)}")
    expect(stolen.json().get("error") == "invalid_grant", f"client2's refresh token used by client1: {describe(stolen)}")
    return claims
