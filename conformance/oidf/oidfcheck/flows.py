"""The authorization code flow as the conformance modules run it: build the request, sign in
through the driver, check the callback, exchange the code and verify the ID token."""

import dataclasses
import urllib.parse

from .browser import Browser
from .outcome import Failed, expect
from .provider import random_value, s256


@dataclasses.dataclass
class Authorization:
    """One authorization request: its parameters and the secrets kept by the client."""

    params: dict
    verifier: str

    @property
    def state(self):
        return self.params.get("state")

    @property
    def nonce(self):
        return self.params.get("nonce")


@dataclasses.dataclass
class Tokens:
    response: dict
    id_claims: dict
    authorization: Authorization

    @property
    def access_token(self):
        return self.response["access_token"]

    @property
    def id_token(self):
        return self.response["id_token"]


class Context:
    """Settings, provider, driver and flow helpers, passed to every check function."""

    def __init__(self, settings, provider, driver):
        self.settings = settings
        self.provider = provider
        self.driver = driver
        # Serves request objects and receives back-channel logout tokens; set by the runner.
        self.receiver = None
        self.warnings = []
        self.skipped_parts = []

    def warn(self, text):
        """Record a condition the conformance suite reports as a warning, not a failure."""
        self.warnings.append(text)

    def skip_part(self, part, reason):
        """Record a part of the module that cannot be checked against this provider."""
        self.skipped_parts.append((part, reason))

    def browser(self):
        return Browser(self.settings.issuer, self.driver)

    def authorization(self, client=None, **overrides):
        """Build request parameters; an override of None removes that parameter."""
        client = client or self.settings.client
        verifier = random_value(48)
        params = {
            "client_id": client.client_id,
            "redirect_uri": self.settings.redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "state": random_value(),
            "nonce": random_value(),
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None}
        return Authorization(params, verifier)

    def authorization_url(self, authorization):
        endpoint = self.provider.endpoint("authorization_endpoint")
        return endpoint + "?" + urllib.parse.urlencode(authorization.params)

    def authorize(self, browser, authorization, method="GET", sign_in=True):
        """Send the request and return the callback query; fail unless the browser was
        redirected to the registered redirect_uri."""
        url = self.authorization_url(authorization)
        data = None
        if method == "POST":
            url = self.provider.endpoint("authorization_endpoint")
            data = authorization.params
        outcome = browser.sign_in(url, method, data) if sign_in else browser.open(url, method, data)
        expect(outcome.location, f"no redirect to the client: {outcome.describe()}")
        redirect_uri = authorization.params.get("redirect_uri", self.settings.redirect_uri)
        expect(
            outcome.location.split("?")[0] == redirect_uri,
            f"redirected to {outcome.location}, not to {redirect_uri}",
        )
        query = outcome.query()
        self.check_callback(query, authorization)
        return query

    def check_callback(self, query, authorization):
        # RFC 9207 §2.4: if the parameter is there, it must equal the issuer; it is required
        # when authorization_response_iss_parameter_supported is true.
        if "iss" in query:
            expect(query["iss"] == self.settings.issuer, f"callback iss {query['iss']!r} != issuer")
        elif self.provider.metadata.get("authorization_response_iss_parameter_supported"):
            raise Failed("callback has no iss although discovery advertises it")
        expect(
            query.get("state") == authorization.state,
            f"callback state {query.get('state')!r} != {authorization.state!r}",
        )

    def code(self, browser, authorization, method="GET"):
        """Run the front channel and return the authorization code."""
        query = self.authorize(browser, authorization, method)
        expect("code" in query, f"callback has no code: {query}")
        return query["code"]

    def redeem(self, code, authorization, client=None):
        """Exchange the code and verify the token response and the ID token."""
        client = client or self.client_for(authorization)
        response = self.provider.exchange_code(
            client, code, authorization.verifier, authorization.params.get("redirect_uri")
        )
        body = self.provider.check_token_response(response)
        claims = self.provider.verify_id_token(body["id_token"], client, authorization.nonce)
        return Tokens(body, claims, authorization)

    def code_flow(self, browser=None, client=None, method="GET", **overrides):
        """Sign in with the code flow and return verified tokens."""
        browser = browser or self.browser()
        client = client or self.settings.client
        authorization = self.authorization(client, **overrides)
        code = self.code(browser, authorization, method)
        return self.redeem(code, authorization, client)

    def client_for(self, authorization):
        for client in (self.settings.client, self.settings.client2, self.settings.client_post):
            if client.client_id == authorization.params.get("client_id"):
                return client
        raise Failed(f"unknown client {authorization.params.get('client_id')}")

    def userinfo(self, tokens, placement="get"):
        response = self.provider.userinfo(tokens.access_token, placement)
        expect(response.status_code == 200, f"UserInfo ({placement}): {response.status_code} {response.text[:200]}")
        claims = response.json()
        expect(
            claims.get("sub") == tokens.id_claims["sub"],
            f"UserInfo sub {claims.get('sub')!r} != ID token sub {tokens.id_claims['sub']!r}",
        )
        return claims

    def expect_error_redirect(self, browser, authorization, allowed, method="GET"):
        """Send a request that must come back to the client with one of `allowed` errors."""
        query = self.authorize(browser, authorization, method, sign_in=False)
        expect("code" not in query, f"expected an error but got a code: {query}")
        expect(
            query.get("error") in allowed,
            f"error {query.get('error')!r} is not one of {sorted(allowed)}",
        )
        return query
