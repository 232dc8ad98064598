"""Modules of oidcc-basic-certification-test-plan about request objects (OpenID Connect Core
§6) and the claims parameter (§5.5)."""

import json

from .outcome import Failed, Skipped, expect
from .provider import random_value, unsigned_jwt


def _object_request(ctx, via):
    """Move the request into an unsigned request object and send it `via` request or
    request_uri. The nonce is only in the object, so a code whose ID token carries it shows
    the object was read."""
    authorization = ctx.authorization()
    claims = dict(authorization.params)
    claims.update(iss=ctx.settings.client.client_id, aud=ctx.settings.issuer)
    request_object = unsigned_jwt(claims)
    query = {
        name: authorization.params[name]
        for name in ("client_id", "response_type", "scope", "redirect_uri", "state", "code_challenge", "code_challenge_method")
    }
    if via == "request":
        query["request"] = request_object
    else:
        query["request_uri"] = ctx.receiver.publish(f"/request/{random_value(12)}", request_object)
    return authorization, query


def _supported_or_rejected(ctx, via):
    authorization, query = _object_request(ctx, via)
    sent = ctx.authorization(**query, nonce=None)
    outcome = ctx.browser().sign_in(ctx.authorization_url(sent))
    if not outcome.location:
        # The suite takes a screenshot of an error page as a valid rejection.
        ctx.warn(f"rejected with an error page, not a redirect: {outcome.describe()}")
        return
    expect(outcome.location.split("?")[0] == ctx.settings.redirect_uri, f"unexpected {outcome.describe()}")
    result = outcome.query()
    ctx.check_callback(result, authorization)
    if "error" in result:
        expect(
            result["error"] == f"{via}_not_supported",
            f"error {result['error']!r} ({result.get('error_description')}); expected {via}_not_supported or success",
        )
        return
    expect("code" in result, f"callback has neither code nor error: {result}")
    ctx.redeem(result["code"], authorization)


def check_request_uri_unsigned(ctx):
    """oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported."""
    _supported_or_rejected(ctx, "request_uri")


def check_request_object_unsigned(ctx):
    """oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported."""
    _supported_or_rejected(ctx, "request")


def check_request_object_redirect_uri(ctx):
    """oidcc-ensure-request-object-with-redirect-uri: the object's redirect_uri wins over
    an invalid one in the query (Core §6.1)."""
    authorization, query = _object_request(ctx, "request")
    query["redirect_uri"] = ctx.settings.redirect_uri + "/invalid"
    sent = ctx.authorization(**query, nonce=None)
    outcome = ctx.browser().sign_in(ctx.authorization_url(sent))
    supported = ctx.provider.metadata.get("request_parameter_supported") is True
    if not outcome.location:
        if not supported:
            # A provider that ignores request objects reads only the unregistered redirect_uri,
            # and an error page without a redirect is the safe response (RFC 9700 §4.11).
            raise Skipped(
                "request_parameter_supported is not true, and the provider showed an error page "
                f"(status {outcome.page.status_code}) for the unregistered redirect_uri in the query"
            )
        raise Failed(f"expected a redirect to {ctx.settings.redirect_uri}: {outcome.describe()}")
    expect(outcome.location.split("?")[0] == ctx.settings.redirect_uri, f"unexpected {outcome.describe()}")
    result = outcome.query()
    ctx.check_callback(result, authorization)
    if result.get("error") == "request_not_supported":
        # The suite skips the module on this error.
        raise Skipped("the provider returned request_not_supported")
    expect("code" in result, f"no code: {result}")
    ctx.redeem(result["code"], authorization)


def check_claims_essential(ctx):
    """oidcc-claims-essential: the claims parameter requests name as essential in UserInfo.
    The suite only warns when name is missing. Here it fails, because unilogin is to support
    the claims parameter."""
    request = {"userinfo": {"name": {"essential": True}}}
    tokens = ctx.code_flow(scope="openid", claims=json.dumps(request))
    userinfo = ctx.userinfo(tokens)
    if "name" not in userinfo:
        supported = ctx.provider.metadata.get("claims_parameter_supported")
        raise Failed(f"UserInfo has no name (claims_parameter_supported is {supported!r}): {sorted(userinfo)}")
    if "name" in tokens.id_claims:
        ctx.warn("ID token has name although it was requested for UserInfo only")
