"""The provider under test: settings from the environment, metadata, keys and the
back-channel calls (token, UserInfo) that a relying party makes."""

import base64
import dataclasses
import hashlib
import json
import os
import secrets
import subprocess
import time

import jwt
import requests

from .outcome import Failed, expect

# Allowed difference between our clock and the provider's for iat and auth_time, in seconds;
# the conformance suite accepts five minutes.
CLOCK_SKEW = 300
TIMEOUT = 10
# Passed as `nonce` to verify_id_token when any nonce, or none, is acceptable.
ANY_NONCE = object()


@dataclasses.dataclass
class Client:
    client_id: str
    client_secret: str
    # `client_secret_basic` or `client_secret_post`, the way this client authenticates.
    auth_method: str = "client_secret_basic"


def _required(name):
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"missing environment variable {name}; see conformance/oidf/README.md")
    return value


@dataclasses.dataclass
class Settings:
    issuer: str
    driver: str
    client: Client
    client2: Client
    client_post: Client
    redirect_uri: str
    post_logout_redirect_uri: str
    # Shell command that registers a client with BACKCHANNEL_LOGOUT_URI from its environment
    # and prints `client_id: X` and `client_secret: Y` lines.
    register_backchannel_client: str

    @classmethod
    def from_environment(cls):
        client = Client(_required("CLIENT_ID"), _required("CLIENT_SECRET"))
        post_id = os.environ.get("CLIENT_POST_ID") or client.client_id
        post_secret = os.environ.get("CLIENT_POST_SECRET") or client.client_secret
        return cls(
            issuer=_required("ISSUER"),
            driver=_required("DRIVER"),
            client=client,
            client2=Client(_required("CLIENT2_ID"), _required("CLIENT2_SECRET")),
            client_post=Client(post_id, post_secret, "client_secret_post"),
            redirect_uri=_required("REDIRECT_URI"),
            post_logout_redirect_uri=_required("POST_LOGOUT_REDIRECT_URI"),
            register_backchannel_client=os.environ.get("REGISTER_BACKCHANNEL_CLIENT", ""),
        )

    def register_backchannel_client_for(self, backchannel_logout_uri):
        """Run the registration command and return the new client."""
        if not self.register_backchannel_client:
            raise Failed("REGISTER_BACKCHANNEL_CLIENT is not set, so no client can be registered")
        environment = dict(os.environ, BACKCHANNEL_LOGOUT_URI=backchannel_logout_uri)
        result = subprocess.run(
            self.register_backchannel_client,
            shell=True,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        fields = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        if result.returncode != 0 or "client_id" not in fields:
            raise Failed(
                f"registering a client with backchannel_logout_uri failed "
                f"(exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            )
        return Client(fields["client_id"], fields.get("client_secret", ""))


def random_value(length=32):
    return secrets.token_urlsafe(length)


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def describe(response):
    """Return a short `status body` string of an HTTP response for failure details."""
    body = response.text.replace("\n", " ")
    if len(body) > 300:
        body = body[:300] + "..."
    return f"{response.request.method} {response.request.url.split('?')[0]} -> {response.status_code} {body}"


class Provider:
    """Metadata and keys of the provider, fetched once, and the relying party's calls."""

    def __init__(self, settings):
        self.settings = settings
        self.issuer = settings.issuer
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"
        response = requests.get(self.discovery_url, timeout=TIMEOUT)
        if response.status_code != 200:
            raise SystemExit(f"discovery failed: {describe(response)}")
        self.metadata = response.json()
        self.jwks = requests.get(self.metadata["jwks_uri"], timeout=TIMEOUT).json()

    def endpoint(self, name):
        value = self.metadata.get(name)
        if not value:
            raise Failed(f"discovery has no {name}")
        return value

    def signing_key(self, kid):
        keys = [k for k in self.jwks.get("keys", []) if k.get("use", "sig") == "sig"]
        if kid is not None:
            keys = [k for k in keys if k.get("kid") == kid]
        if not keys:
            # Keys may have rotated since start-up.
            self.jwks = requests.get(self.metadata["jwks_uri"], timeout=TIMEOUT).json()
            keys = [k for k in self.jwks.get("keys", []) if kid is None or k.get("kid") == kid]
        expect(keys, f"no JWKS key with kid {kid!r}")
        expect(len(keys) == 1, f"{len(keys)} JWKS keys match kid {kid!r}; a kid must be unique")
        return jwt.PyJWK(keys[0])

    def token(self, client, fields):
        """POST to the token endpoint, authenticating as the client's auth_method."""
        data = dict(fields)
        auth = None
        if client.auth_method == "client_secret_post":
            data["client_id"] = client.client_id
            data["client_secret"] = client.client_secret
        else:
            # RFC 6749 §2.3.1: form-urlencode the id and secret before Basic encoding.
            auth = (
                requests.utils.quote(client.client_id, safe=""),
                requests.utils.quote(client.client_secret, safe=""),
            )
        return requests.post(self.endpoint("token_endpoint"), data=data, auth=auth, timeout=TIMEOUT)

    def exchange_code(self, client, code, verifier, redirect_uri=None):
        return self.token(
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri or self.settings.redirect_uri,
                "code_verifier": verifier,
            },
        )

    def refresh(self, client, refresh_token):
        return self.token(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def userinfo(self, access_token, placement="get"):
        """Call UserInfo with the token in the header (`get`, `post-header`) or the body."""
        url = self.endpoint("userinfo_endpoint")
        bearer = {"Authorization": f"Bearer {access_token}"}
        if placement == "get":
            return requests.get(url, headers=bearer, timeout=TIMEOUT)
        if placement == "post-header":
            return requests.post(url, headers=bearer, timeout=TIMEOUT)
        return requests.post(url, data={"access_token": access_token}, timeout=TIMEOUT)

    def verify_jwt(self, token, audience, typ=None):
        """Verify a JWT signed by the provider and return (header, claims)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Failed(f"not a JWT: {error}") from error
        expect(header.get("alg") not in (None, "none"), f"JWT alg is {header.get('alg')!r}")
        if typ is not None:
            expect(header.get("typ") == typ, f"JWT typ is {header.get('typ')!r}, expected {typ!r}")
        key = self.signing_key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[header["alg"]],
                audience=audience,
                issuer=self.issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["iss", "aud", "iat"]},
            )
        except jwt.PyJWTError as error:
            raise Failed(f"JWT verification failed: {error}") from error
        return header, claims

    def verify_id_token(self, id_token, client, nonce=None):
        """Check an ID token as OpenID Connect Core §3.1.3.7 requires of a client."""
        header, claims = self.verify_jwt(id_token, client.client_id)
        algs = self.metadata.get("id_token_signing_alg_values_supported", [])
        expect(header["alg"] in algs, f"ID token alg {header['alg']} is not advertised ({algs})")
        for name in ("sub", "exp", "iat"):
            expect(name in claims, f"ID token has no {name}")
        now = time.time()
        expect(claims["exp"] > now - CLOCK_SKEW, "ID token has expired")
        expect(abs(claims["iat"] - now) <= CLOCK_SKEW, f"ID token iat {claims['iat']} is off by more than 5 minutes")
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audience) > 1 or "azp" in claims:
            expect(claims.get("azp") == client.client_id, f"ID token azp is {claims.get('azp')!r}")
        if nonce is ANY_NONCE:
            pass
        elif nonce is None:
            expect("nonce" not in claims, "ID token has a nonce although none was sent")
        else:
            expect(claims.get("nonce") == nonce, f"ID token nonce {claims.get('nonce')!r} != {nonce!r}")
        if "acr" in claims:
            expect(isinstance(claims["acr"], str), "ID token acr is not a string")
        if "auth_time" in claims:
            expect(isinstance(claims["auth_time"], int), "ID token auth_time is not an integer")
            expect(claims["auth_time"] <= now + CLOCK_SKEW, "ID token auth_time is in the future")
        return claims

    def check_token_response(self, response):
        """Check a successful token response (RFC 6749 §5.1) and return its JSON."""
        expect(response.status_code == 200, describe(response))
        expect(
            response.headers.get("Content-Type", "").startswith("application/json"),
            f"token response Content-Type is {response.headers.get('Content-Type')!r}",
        )
        expect(
            "no-store" in response.headers.get("Cache-Control", ""),
            f"token response Cache-Control is {response.headers.get('Cache-Control')!r}, not no-store",
        )
        body = response.json()
        expect(body.get("access_token"), "token response has no access_token")
        expect(str(body.get("token_type", "")).lower() == "bearer", f"token_type is {body.get('token_type')!r}")
        expect(body.get("id_token"), "token response has no id_token")
        return body


def unsigned_jwt(claims):
    """Encode claims as an unsecured JWT (alg none, RFC 7519 §6)."""
    def part(value):
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."
