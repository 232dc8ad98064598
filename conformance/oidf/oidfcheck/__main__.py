"""Run one check per OpenID Foundation conformance module and print TAP-like lines:
`ok - module`, `not ok - module: detail` or `skip - module: reason`.

Environment: see conformance/oidf/README.md. ONLY, a regular expression, limits the run to
the modules whose names match it."""

import os
import re
import sys
import traceback

import requests

from . import basic, discovery, logout, request_objects
from .drivers import make_driver
from .flows import Context
from .outcome import Failed, Skipped
from .provider import Provider, Settings
from .receiver import Receiver

PLANS = {
    "oidcc-basic-certification-test-plan": [
        ("oidcc-server", basic.check_server),
        ("oidcc-response-type-missing", basic.check_response_type_missing),
        ("oidcc-idtoken-signature", basic.check_idtoken_signature),
        ("oidcc-idtoken-unsigned", basic.check_idtoken_unsigned),
        ("oidcc-userinfo-get", basic.check_userinfo_get),
        ("oidcc-userinfo-post-header", basic.check_userinfo_post_header),
        ("oidcc-userinfo-post-body", basic.check_userinfo_post_body),
        ("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", basic.check_without_nonce),
        ("oidcc-scope-profile", basic.check_scope_profile),
        ("oidcc-scope-email", basic.check_scope_email),
        ("oidcc-scope-address", basic.check_scope_address),
        ("oidcc-scope-phone", basic.check_scope_phone),
        ("oidcc-scope-all", basic.check_scope_all),
        ("oidcc-ensure-other-scope-order-succeeds", basic.check_other_scope_order),
        ("oidcc-display-page", basic.check_parameter_succeeds("display", "page")),
        ("oidcc-display-popup", basic.check_parameter_succeeds("display", "popup")),
        ("oidcc-prompt-login", basic.check_prompt_login),
        ("oidcc-prompt-none-not-logged-in", basic.check_prompt_none_not_logged_in),
        ("oidcc-prompt-none-logged-in", basic.check_prompt_none_logged_in),
        ("oidcc-max-age-1", basic.check_max_age_1),
        ("oidcc-max-age-10000", basic.check_max_age_10000),
        ("oidcc-ensure-request-with-unknown-parameter-succeeds", basic.check_unknown_parameter),
        ("oidcc-id-token-hint", basic.check_id_token_hint),
        ("oidcc-login-hint", basic.check_login_hint),
        ("oidcc-ui-locales", basic.check_parameter_succeeds("ui_locales", "se")),
        ("oidcc-claims-locales", basic.check_parameter_succeeds("claims_locales", "se")),
        ("oidcc-ensure-request-with-acr-values-succeeds", basic.check_acr_values),
        ("oidcc-codereuse", basic.check_code_reuse),
        ("oidcc-codereuse-30seconds", basic.check_code_reuse_30_seconds),
        ("oidcc-ensure-registered-redirect-uri", basic.check_registered_redirect_uri),
        ("oidcc-ensure-post-request-succeeds", basic.check_post_request),
        ("oidcc-server-client-secret-post", basic.check_client_secret_post),
        (
            "oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported",
            request_objects.check_request_uri_unsigned,
        ),
        (
            "oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported",
            request_objects.check_request_object_unsigned,
        ),
        ("oidcc-claims-essential", request_objects.check_claims_essential),
        ("oidcc-ensure-request-object-with-redirect-uri", request_objects.check_request_object_redirect_uri),
        ("oidcc-refresh-token", basic.check_refresh_token),
        ("oidcc-ensure-request-with-valid-pkce-succeeds", basic.check_valid_pkce),
    ],
    "oidcc-config-certification-test-plan": [
        ("oidcc-discovery-endpoint-verification", discovery.check_discovery),
    ],
    "oidcc-rp-initiated-logout-certification-test-plan": [
        ("oidcc-rp-initiated-logout-discovery-endpoint-verification", discovery.check_rp_logout_discovery),
        ("oidcc-rp-initiated-logout", logout.check_rp_initiated_logout),
        ("oidcc-rp-initiated-logout-bad-post-logout-redirect-uri", logout.check_bad_post_logout_redirect_uri),
        (
            "oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri",
            logout.check_query_added_to_post_logout_redirect_uri,
        ),
        ("oidcc-rp-initiated-logout-modified-id-token-hint", logout.check_modified_id_token_hint),
        ("oidcc-rp-initiated-logout-bad-id-token-hint", logout.check_bad_id_token_hint),
        ("oidcc-rp-initiated-logout-no-id-token-hint", logout.check_no_id_token_hint),
        ("oidcc-rp-initiated-logout-no-params", logout.check_no_params),
        ("oidcc-rp-initiated-logout-no-post-logout-redirect-uri", logout.check_no_post_logout_redirect_uri),
        ("oidcc-rp-initiated-logout-only-state", logout.check_only_state),
        ("oidcc-rp-initiated-logout-no-state", logout.check_no_state),
    ],
    "oidcc-backchannel-rp-initiated-logout-certification-test-plan": [
        ("oidcc-backchannel-logout-discovery-endpoint-verification", discovery.check_backchannel_discovery),
        ("oidcc-backchannel-rp-initiated-logout", logout.check_backchannel_logout),
    ],
}


def run_one(ctx, name, check):
    """Run one check and return its result word: ok, not ok or skip."""
    ctx.warnings = []
    ctx.skipped_parts = []
    try:
        check(ctx)
    except Skipped as reason:
        print(f"skip - {name}: {reason}", flush=True)
        return "skip"
    except Failed as detail:
        print(f"not ok - {name}: {detail}", flush=True)
        return "not ok"
    except (requests.RequestException, KeyError, ValueError) as error:
        # An exception outside the expected outcomes is reported with the line that raised
        # it, which separates a script bug from a provider failure.
        origin = traceback.extract_tb(error.__traceback__)[-1]
        print(
            f"not ok - {name}: {type(error).__name__}: {error} "
            f"(at {os.path.basename(origin.filename)}:{origin.lineno})",
            flush=True,
        )
        return "not ok"
    line = f"ok - {name}"
    if ctx.warnings:
        line += " # warning: " + "; ".join(ctx.warnings)
    print(line, flush=True)
    for part, reason in ctx.skipped_parts:
        print(f"skip - {name}/{part}: {reason}", flush=True)
    return "ok"


def main():
    settings = Settings.from_environment()
    only = re.compile(os.environ.get("ONLY", ""))
    provider = Provider(settings)
    ctx = Context(settings, provider, make_driver(settings.driver))
    ctx.receiver = Receiver()
    counts = {"ok": 0, "not ok": 0, "skip": 0}
    try:
        for plan, modules in PLANS.items():
            selected = [(name, check) for name, check in modules if only.search(name)]
            if not selected:
                continue
            print(f"# {plan}", flush=True)
            for name, check in selected:
                counts[run_one(ctx, name, check)] += 1
    finally:
        ctx.receiver.close()
    print(f"oidf: {counts['ok']} passed, {counts['not ok']} failed, {counts['skip']} skipped")
    return 1 if counts["not ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
