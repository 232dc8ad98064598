"""Login drivers: each completes one provider's hosted sign-in pages like a user would."""

import json
import os
import re
import time
import urllib.parse

from .browser import parse_forms
from .outcome import Failed


def _path(url):
    return urllib.parse.urlsplit(url).path


class UniloginDriver:
    """unilogin's phone + password + SMS code sign-in, by the form field names that the
    automation contract fixes. The SMS code and the initial password are read from the
    development SMS outbox."""

    def __init__(self):
        self.phone = os.environ.get("PHONE", "")
        self.outbox = os.environ.get("SMS_OUTBOX", "")
        self.new_password = os.environ.get("NEW_PASSWORD", "")
        if not (self.phone and self.outbox and self.new_password):
            raise SystemExit("DRIVER=unilogin needs PHONE, SMS_OUTBOX and NEW_PASSWORD")
        self.password = None
        self.last_code_request = 0.0

    def login_hint(self):
        return self.phone

    def _messages(self, purpose):
        with open(self.outbox, encoding="utf-8") as lines:
            messages = [json.loads(line) for line in lines if line.strip()]
        return [m for m in messages if m.get("purpose") == purpose and m.get("phone", "").endswith(self.phone)]

    def _current_password(self):
        if self.password:
            return self.password
        initial = self._messages("initial_password")
        if not initial:
            raise Failed("the SMS outbox has no initial password for the test account")
        match = re.search(r"初始密码为(\S+?)，", initial[-1]["text"])
        if not match:
            raise Failed(f"no password in the initial password message: {initial[-1]['text']}")
        return match.group(1)

    def handle_page(self, browser, page):
        path = _path(page.url)
        if page.status_code != 200:
            return None
        if path == "/login":
            return self._sign_in(browser, page)
        if path == "/password/change":
            return self._change_password(browser, page)
        return None

    def _sign_in(self, browser, page):
        form = next((f for f in parse_forms(page.text) if "sms_code" in f.fields), None)
        if form is None:
            raise Failed(f"no phone sign-in form on {page.url}")
        request_id = form.fields.get("request_id", "")
        csrf = form.fields.get("csrf_token", "")

        # The server rejects a second code request within sms.resend_interval_secs.
        wait = self.last_code_request + 1.2 - time.time()
        if wait > 0:
            time.sleep(wait)
        codes_before = len(self._messages("login"))
        sent = browser.request(
            "POST",
            browser.absolute("/login/sms-code"),
            {"phone": self.phone, "csrf_token": csrf, "request_id": request_id},
        )
        self.last_code_request = time.time()
        if sent.status_code >= 400:
            raise Failed(f"SMS code request failed: {sent.status_code} {sent.text[:200]}")
        codes = self._messages("login")
        if len(codes) <= codes_before:
            raise Failed("no new login code in the SMS outbox")

        fields = dict(form.fields)
        fields.update(phone=self.phone, password=self._current_password(), sms_code=codes[-1]["code"])
        return browser.submit(form, page.url, fields)

    def _change_password(self, browser, page):
        form = next((f for f in parse_forms(page.text) if "new_password" in f.fields), None)
        if form is None:
            raise Failed(f"no password change form on {page.url}")
        response = browser.submit(
            form,
            page.url,
            {"new_password": self.new_password, "new_password_confirm": self.new_password},
        )
        if response.status_code < 400:
            self.password = self.new_password
        return response

    def confirm_logout(self, browser, page):
        """Submit the logout confirmation form if the page shows one; None otherwise."""
        form = next((f for f in parse_forms(page.text) if _path(f.action or page.url) == "/logout"), None)
        if form is None or "csrf_token" not in form.fields:
            return None
        return browser.submit(form, page.url)


class ReferenceDriver:
    """The development interaction pages of panva's oidc-provider: any login name signs in,
    and the consent page is confirmed."""

    def __init__(self):
        self.login = os.environ.get("REFERENCE_LOGIN", "conformance-user")

    def login_hint(self):
        return self.login

    def handle_page(self, browser, page):
        if page.status_code != 200:
            return None
        for form in parse_forms(page.text):
            prompt = form.fields.get("prompt")
            if prompt == "login":
                return browser.submit(form, page.url, {"login": self.login, "password": "any"})
            if prompt == "consent":
                return browser.submit(form, page.url)
        return None

    def confirm_logout(self, browser, page):
        form = next((f for f in parse_forms(page.text) if "xsrf" in f.fields), None)
        if form is None:
            return None
        return browser.submit(form, page.url, button=("logout", "yes"))


def make_driver(name):
    if name == "unilogin":
        return UniloginDriver()
    if name == "reference":
        return ReferenceDriver()
    raise SystemExit(f"DRIVER must be unilogin or reference, not {name!r}")
