"""A scripted browser: one cookie jar, redirects followed only inside the provider, and HTML
forms read with the standard library parser."""

import dataclasses
import html.parser
import urllib.parse

import requests

from .outcome import Failed

TIMEOUT = 10
MAX_STEPS = 20


@dataclasses.dataclass
class Form:
    action: str
    method: str
    fields: dict
    # Submit buttons as (name, value); a form may be sent with one of them.
    buttons: list
    form_id: str


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._current = None
        self._outside_buttons = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._current = Form(
                action=attributes.get("action") or "",
                method=(attributes.get("method") or "get").lower(),
                fields={},
                buttons=[],
                form_id=attributes.get("id") or "",
            )
            self.forms.append(self._current)
        elif tag == "input" and attributes.get("name"):
            form = self._form_for(attributes)
            if form is None:
                return
            kind = (attributes.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                if "checked" in attributes or attributes["name"] not in form.fields:
                    form.fields[attributes["name"]] = attributes.get("value") or "on"
            elif kind == "submit":
                form.buttons.append((attributes["name"], attributes.get("value") or ""))
            else:
                form.fields[attributes["name"]] = attributes.get("value") or ""
        elif tag == "button" and attributes.get("name"):
            target = self._form_for(attributes)
            button = (attributes["name"], attributes.get("value") or "")
            if target is not None:
                target.buttons.append(button)
            else:
                self._outside_buttons.append((attributes.get("form"), button))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None

    def _form_for(self, attributes):
        # A control outside the form element may name its form with the HTML `form` attribute.
        owner = attributes.get("form")
        if owner:
            for form in self.forms:
                if form.form_id == owner:
                    return form
            return None
        return self._current

    def close(self):
        super().close()
        for owner, button in self._outside_buttons:
            for form in self.forms:
                if form.form_id == owner:
                    form.buttons.append(button)


def parse_forms(page):
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


@dataclasses.dataclass
class Outcome:
    """End of a browser navigation: a redirect out of the provider, or a page on it."""

    location: str = ""
    page: requests.Response = None

    def query(self):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.location).query))

    def describe(self):
        if self.location:
            return f"redirect to {self.location}"
        body = " ".join(self.page.text.split())[:200]
        return f"page {self.page.url} status {self.page.status_code}: {body}"


class Browser:
    """A user agent that keeps cookies and stops at any redirect that leaves the provider."""

    def __init__(self, issuer, driver):
        self.issuer = issuer
        self.origin = _origin(issuer)
        self.driver = driver
        self.session = requests.Session()

    def absolute(self, url, base=None):
        return urllib.parse.urljoin(base or self.issuer + "/", url)

    def request(self, method, url, data=None):
        return self.session.request(method, url, data=data, allow_redirects=False, timeout=TIMEOUT)

    def follow(self, response):
        """Follow redirects inside the provider and return where the browser ends up."""
        for _ in range(MAX_STEPS):
            if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
                location = self.absolute(response.headers.get("Location", ""), response.url)
                if _origin(location) != self.origin:
                    return Outcome(location=location)
                method = "POST" if response.status_code in (307, 308) and response.request.method == "POST" else "GET"
                body = response.request.body if method == "POST" else None
                response = self.session.request(method, location, data=body, allow_redirects=False, timeout=TIMEOUT)
                continue
            return Outcome(page=response)
        raise Failed(f"more than {MAX_STEPS} redirects inside the provider")

    def open(self, url, method="GET", data=None):
        """Navigate without signing in: return the first redirect out or the page shown."""
        return self.follow(self.request(method, url, data))

    def sign_in(self, url, method="GET", data=None):
        """Navigate, complete any sign-in pages the driver handles, and return the outcome."""
        outcome = self.open(url, method, data)
        for _ in range(MAX_STEPS):
            if outcome.location:
                return outcome
            next_response = self.driver.handle_page(self, outcome.page)
            if next_response is None:
                return outcome
            outcome = self.follow(next_response)
        raise Failed(f"sign-in did not finish within {MAX_STEPS} pages")

    def submit(self, form, base_url, extra=None, button=None):
        fields = dict(form.fields)
        if button is not None:
            fields[button[0]] = button[1]
        fields.update(extra or {})
        action = self.absolute(form.action or base_url, base_url)
        if form.method == "post":
            return self.request("POST", action, fields)
        return self.request("GET", action + "?" + urllib.parse.urlencode(fields))


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.netloc)
