"""Discovery modules: oidcc-config-certification-test-plan and the discovery module of each
logout plan (OpenID Connect Discovery 1.0 §3 and §4)."""

import urllib.parse

import jwt
import requests

from .outcome import Failed, expect
from .provider import TIMEOUT

REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
LISTS = (
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "claims_supported",
    "code_challenge_methods_supported",
    "acr_values_supported",
    "ui_locales_supported",
)
BOOLEANS = (
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "require_request_uri_registration",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
    "frontchannel_logout_supported",
    "authorization_response_iss_parameter_supported",
)
AUTH_METHODS = {
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt",
    "none", "tls_client_auth", "self_signed_tls_client_auth", "attest_jwt_client_auth",
}
# JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _endpoint_urls(metadata):
    return {
        name: value
        for name, value in metadata.items()
        if (name.endswith("_endpoint") or name.endswith("_uri")) and isinstance(value, str)
    }


def _check_https(ctx, names):
    """Check that every endpoint is https, which the suite requires. While the issuer itself
    is http no endpoint can be, so the part is reported as skipped."""
    urls = {name: ctx.provider.metadata.get(name) for name in names if ctx.provider.metadata.get(name)}
    if urllib.parse.urlsplit(ctx.settings.issuer).scheme != "https":
        ctx.skip_part("https-endpoints", f"issuer {ctx.settings.issuer} is http, so its endpoints cannot be https; run against a TLS listener")
        return
    plain = [name for name, url in urls.items() if not url.startswith("https://")]
    expect(not plain, f"endpoints not on https: {plain}")


def check_discovery(ctx):
    """oidcc-discovery-endpoint-verification: issuer equals the URL, required fields, value
    types, and a valid JWKS with distinct kids."""
    response = requests.get(ctx.provider.discovery_url, timeout=TIMEOUT)
    expect(response.status_code == 200, f"discovery returned {response.status_code}")
    expect(
        response.headers.get("Content-Type", "").startswith("application/json"),
        f"discovery Content-Type is {response.headers.get('Content-Type')!r}",
    )
    metadata = response.json()

    # Discovery 1.0 §4.3: the issuer must be identical to the URL the document came from.
    expect(metadata.get("issuer") == ctx.settings.issuer, f"issuer {metadata.get('issuer')!r} != {ctx.settings.issuer!r}")
    missing = [name for name in REQUIRED if name not in metadata]
    expect(not missing, f"discovery lacks required {missing}")
    expect("userinfo_endpoint" in metadata, "discovery lacks userinfo_endpoint (recommended, and the basic plan uses it)")

    for name in LISTS:
        if name in metadata:
            value = metadata[name]
            expect(isinstance(value, list) and all(isinstance(v, str) for v in value), f"{name} is not a list of strings")
    for name in BOOLEANS:
        if name in metadata:
            expect(isinstance(metadata[name], bool), f"{name} is {metadata[name]!r}, not a boolean")

    if "scopes_supported" in metadata:
        expect("openid" in metadata["scopes_supported"], "scopes_supported lacks openid")
    expect("code" in metadata["response_types_supported"], "response_types_supported lacks code")
    expect("RS256" in metadata["id_token_signing_alg_values_supported"], "id_token_signing_alg_values_supported lacks RS256")
    unknown_subjects = set(metadata["subject_types_supported"]) - {"public", "pairwise"}
    expect(not unknown_subjects, f"unknown subject types {unknown_subjects}")
    unknown_methods = set(metadata.get("token_endpoint_auth_methods_supported", [])) - AUTH_METHODS
    expect(not unknown_methods, f"unknown token endpoint auth methods {unknown_methods}")

    for name, url in _endpoint_urls(metadata).items():
        parts = urllib.parse.urlsplit(url)
        expect(parts.scheme in ("http", "https") and parts.netloc, f"{name} {url!r} is not an absolute URL")
    _check_jwks(metadata["jwks_uri"])
    _check_https(ctx, list(_endpoint_urls(metadata)))


def _check_jwks(jwks_uri):
    response = requests.get(jwks_uri, timeout=TIMEOUT)
    expect(response.status_code == 200, f"jwks_uri returned {response.status_code}")
    keys = response.json().get("keys")
    expect(isinstance(keys, list) and keys, "JWKS has no keys")
    kids = [key.get("kid") for key in keys]
    expect(len(set(kids)) == len(kids), f"JWKS kids are not distinct: {kids}")
    for key in keys:
        expect("kty" in key, f"JWK without kty: {key}")
        private = PRIVATE_MEMBERS & set(key)
        expect(not private, f"JWK {key.get('kid')} publishes private members {sorted(private)}")
        expect(key.get("use", "sig") in ("sig", "enc"), f"JWK {key.get('kid')} use is {key.get('use')!r}")
        try:
            parsed = jwt.PyJWK(key)
        except jwt.PyJWTError as error:
            raise Failed(f"JWK {key.get('kid')} does not parse: {error}") from error
        if key["kty"] == "RSA":
            bits = parsed.key.key_size
            expect(bits >= 2048, f"RSA key {key.get('kid')} has {bits} bits, fewer than 2048")
    if len(keys) > 1:
        expect(all(kids), "JWKS has several keys but not every key has a kid")


def check_rp_logout_discovery(ctx):
    """oidcc-rp-initiated-logout-discovery-endpoint-verification: end_session_endpoint."""
    check_discovery(ctx)
    endpoint = ctx.provider.metadata.get("end_session_endpoint")
    expect(endpoint, "discovery lacks end_session_endpoint")


def check_backchannel_discovery(ctx):
    """oidcc-backchannel-logout-discovery-endpoint-verification: back-channel logout with
    session ids advertised."""
    check_rp_logout_discovery(ctx)
    metadata = ctx.provider.metadata
    expect(metadata.get("backchannel_logout_supported") is True, f"backchannel_logout_supported is {metadata.get('backchannel_logout_supported')!r}")
    expect(
        metadata.get("backchannel_logout_session_supported") is True,
        f"backchannel_logout_session_supported is {metadata.get('backchannel_logout_session_supported')!r}",
    )
