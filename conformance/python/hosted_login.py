"""Drive unilogin's hosted sign-in pages by the form field names they keep stable for automation.

Shared by the Python relying-party checks. The browser is a requests.Session that keeps
cookies and does not follow redirects.
"""

import json
import os
import re
import sys
import traceback
from urllib.parse import urljoin, urlsplit

import requests


class Report:
    """Prints `ok - name` / `not ok - name detail` lines and counts them."""

    def __init__(self, library):
        self.library = library
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {name} {detail}".rstrip(), flush=True)
        return bool(condition)

    def step(self, name, action):
        """Run one step that may raise and record it as a check.

        Returns the step's result, or None when it raised.
        """
        try:
            result = action()
        except Exception as error:  # noqa: BLE001 - any failure of the library is a failed check
            self.check(name, False, describe_error(error))
            if os.environ.get("CONFORMANCE_TRACE"):
                traceback.print_exc()
            return None
        self.check(name, True)
        return result

    def finish(self):
        print(f"{self.library}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(0 if self.failed == 0 else 1)


def describe_error(error):
    return f"{type(error).__name__}: {error}".replace("\n", " ")


def require_env(name):
    value = os.environ.get(name)
    if not value:
        print(f"missing environment variable {name}", file=sys.stderr)
        sys.exit(2)
    return value


def _hidden_input(html, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


def _latest_message(outbox, phone, purpose):
    """Return the newest outbox message for this phone and purpose.

    The outbox may store the phone in E.164 (+86...) or as the 11 national digits, so both match.
    """
    with open(outbox, encoding="utf-8") as file:
        messages = [json.loads(line) for line in file if line.strip()]
    matching = [
        m for m in messages if m.get("purpose") == purpose and str(m.get("phone")).endswith(phone)
    ]
    return matching[-1] if matching else None


class Account:
    """An account created with `unilogin account add`.

    Its first password arrives by SMS and must be changed on the first sign-in, after which
    `new_password` is the current one.
    """

    def __init__(self, phone, outbox, new_password):
        self.phone = phone
        self.outbox = outbox
        self.new_password = new_password
        self.password = None

    def current_password(self):
        if self.password:
            return self.password

        initial = _latest_message(self.outbox, self.phone, "initial_password")
        match = re.search(r"初始密码为(\S+?)，", initial["text"]) if initial else None
        if not match:
            raise RuntimeError(f"no initial password for {self.phone} in {self.outbox}")
        return match.group(1)


class Browser:
    def __init__(self, issuer):
        self.issuer = issuer
        self.session = requests.Session()

    def get(self, url):
        return self.session.get(urljoin(self.issuer, url), allow_redirects=False, timeout=10)

    def post(self, url, fields):
        return self.session.post(
            urljoin(self.issuer, url), data=fields, allow_redirects=False, timeout=10
        )

    def location(self, url):
        """Return the Location header of a GET, resolved against the issuer, or ""."""
        location = self.get(url).headers.get("location")
        return urljoin(self.issuer, location) if location else ""


def sign_in(browser, authorization_url, redirect_uri, account):
    """Follow the sign-in from the authorization URL until the browser returns to redirect_uri.

    Returns that callback URL. A live session skips the login form.
    """
    location = browser.location(authorization_url)
    if location.startswith(redirect_uri):
        return location
    if "/login" not in location:
        raise RuntimeError(f"authorization did not lead to /login: {location}")

    login_page = browser.get(location).text
    request_id = _hidden_input(login_page, "request_id")
    csrf = _hidden_input(login_page, "csrf_token")
    browser.post(
        "/login/sms-code", {"phone": account.phone, "csrf_token": csrf, "request_id": request_id}
    )

    message = _latest_message(account.outbox, account.phone, "login")
    if not message or not message.get("code"):
        raise RuntimeError(f"no login SMS code for {account.phone}")
    response = browser.post(
        "/login",
        {
            "phone": account.phone,
            "password": account.current_password(),
            "sms_code": message["code"],
            "csrf_token": csrf,
            "request_id": request_id,
        },
    )
    location = response.headers.get("location", "")

    if location and urlsplit(urljoin(browser.issuer, location)).path == "/password/change":
        change_page = browser.get(location).text
        response = browser.post(
            "/password/change",
            {
                "new_password": account.new_password,
                "new_password_confirm": account.new_password,
                "csrf_token": _hidden_input(change_page, "csrf_token"),
                "request_id": _hidden_input(change_page, "request_id"),
            },
        )
        location = response.headers.get("location", "")
        account.password = account.new_password

    if not location:
        raise RuntimeError(f"sign-in stopped with HTTP {response.status_code}")
    return urljoin(browser.issuer, location)


def account_from_env():
    return Account(
        phone=require_env("PHONE"),
        outbox=require_env("SMS_OUTBOX"),
        new_password=require_env("NEW_PASSWORD"),
    )
