// Drives unilogin's hosted sign-in pages the way a browser would (one cookie jar, redirects not
// followed), by the form field names that the pages keep stable for automation. Shared by the
// Node clients.
import { readFileSync } from "node:fs";

// Prints TAP-like `ok - name` / `not ok - name detail` lines and counts them.
export class Report {
  constructor(library) {
    this.library = library;
    this.passed = 0;
    this.failed = 0;
  }

  check(name, condition, detail = "") {
    if (condition) {
      this.passed += 1;
      console.log(`ok - ${name}`);
    } else {
      this.failed += 1;
      console.log(`not ok - ${name} ${detail}`.trimEnd());
    }
    return Boolean(condition);
  }

  // Runs one step that may throw and records it as a check: passed with the step's result
  // returned, or failed with the error shown and undefined returned.
  async step(name, action) {
    try {
      const result = await action();
      this.check(name, true);
      return result;
    } catch (error) {
      this.check(name, false, describeError(error));
      return undefined;
    }
  }

  finish() {
    console.log(`${this.library}: ${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed === 0 ? 0 : 1);
  }
}

export function describeError(error) {
  const parts = [error?.name, error?.code, error?.error, error?.error_description, error?.message];
  return parts.filter(Boolean).join(": ");
}

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

export class Browser {
  constructor(issuer) {
    this.issuer = issuer;
    this.cookies = new Map();
  }

  async fetch(url, init = {}) {
    const headers = new Headers(init.headers || {});
    const jar = [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join("; ");
    if (jar) headers.set("cookie", jar);

    const response = await fetch(new URL(url, this.issuer), { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [key, ...rest] = pair.split("=");
      this.cookies.set(key.trim(), rest.join("="));
    }
    return response;
  }

  post(url, fields) {
    return this.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  }

  // Returns the Location header of a GET, resolved against the issuer, or "" when there is none.
  async location(url) {
    const response = await this.fetch(url);
    const location = response.headers.get("location");
    return location ? new URL(location, this.issuer).toString() : "";
  }
}

function hiddenInput(html, name) {
  const match = html.match(new RegExp(`name="${name}"[^>]*value="([^"]*)"`));
  return match ? match[1] : "";
}

// Returns the newest outbox message for this phone and purpose. The outbox may store the
// phone in E.164 (+86...) or as the 11 national digits, so both match.
function latestMessage(outbox, phone, purpose) {
  const lines = readFileSync(outbox, "utf8").trim().split("\n");
  const messages = lines.filter(Boolean).map((line) => JSON.parse(line));
  return messages.filter((m) => m.purpose === purpose && String(m.phone).endsWith(phone)).at(-1);
}

// An account created with `unilogin account add`. Its first password arrives by SMS and must
// be changed on the first sign-in, after which `newPassword` is the current one.
export class Account {
  constructor({ phone, outbox, newPassword }) {
    this.phone = phone;
    this.outbox = outbox;
    this.newPassword = newPassword;
    this.password = null;
  }

  currentPassword() {
    if (this.password) return this.password;

    const initial = latestMessage(this.outbox, this.phone, "initial_password");
    const match = initial?.text.match(/初始密码为(\S+?)，/);
    if (!match) throw new Error(`no initial password for ${this.phone} in ${this.outbox}`);
    return match[1];
  }
}

// Follows the sign-in from the authorization URL until the browser is sent back to
// `redirectUri`, and returns that callback URL. A live session skips the login form.
export async function signIn(browser, authorizationUrl, redirectUri, account) {
  let location = await browser.location(authorizationUrl.toString());
  if (location.startsWith(redirectUri)) return location;
  if (!location.includes("/login")) throw new Error(`authorization did not lead to /login: ${location}`);

  const loginPage = await (await browser.fetch(location)).text();
  const requestId = hiddenInput(loginPage, "request_id");
  const csrf = hiddenInput(loginPage, "csrf_token");
  await browser.post("/login/sms-code", { phone: account.phone, csrf_token: csrf, request_id: requestId });

  const code = latestMessage(account.outbox, account.phone, "login")?.code;
  if (!code) throw new Error(`no login SMS code for ${account.phone}`);
  let response = await browser.post("/login", {
    phone: account.phone,
    password: account.currentPassword(),
    sms_code: code,
    csrf_token: csrf,
    request_id: requestId,
  });
  location = response.headers.get("location") ?? "";

  if (location && new URL(location, browser.issuer).pathname === "/password/change") {
    const changePage = await (await browser.fetch(location)).text();
    response = await browser.post("/password/change", {
      new_password: account.newPassword,
      new_password_confirm: account.newPassword,
      csrf_token: hiddenInput(changePage, "csrf_token"),
      request_id: hiddenInput(changePage, "request_id"),
    });
    location = response.headers.get("location") ?? "";
    account.password = account.newPassword;
  }

  if (!location) throw new Error(`sign-in stopped with HTTP ${response.status}`);
  return new URL(location, browser.issuer).toString();
}
