// Pushed authorization requests (RFC 9126) for a client registered with --require-par.
import * as oauth from "oauth4webapi";
import { describeError } from "../lib/hosted-login.mjs";

const REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:";

// Pushes the authorization parameters and returns the HTTP status, the processed response and
// the authorization URL, which carries only client_id and request_uri (RFC 9126 section 4).
export async function pushAuthorizationRequest(as, client, clientAuth, parameters) {
  const response = await oauth.pushedAuthorizationRequest(as, client, clientAuth, parameters);
  const status = response.status;
  const pushed = await oauth.processPushedAuthorizationResponse(as, client, response);

  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({ client_id: client.client_id, request_uri: pushed.request_uri });
  return { status, pushed, url };
}

// RFC 9126 section 2.2: a successful push is 201 with request_uri and expires_in.
export function checkPushResponse(report, { status, pushed }) {
  report.check("PAR response is 201", status === 201, `HTTP ${status}`);
  report.check(
    "request_uri has the RFC 9126 prefix",
    pushed.request_uri.startsWith(REQUEST_URI_PREFIX) && pushed.request_uri.length > REQUEST_URI_PREFIX.length,
    pushed.request_uri,
  );
  report.check("expires_in is positive", pushed.expires_in > 0, String(pushed.expires_in));
}

// RFC 9126 section 5 lets a server require PAR for a client, and unilogin then rejects that
// client's plain authorization requests. The redirect_uri is registered, so the error goes back
// to the client.
export async function checkPlainRequestRejected(report, browser, as, client, plainUrl, state) {
  const callback = await browser.location(plainUrl);
  let error = "no error";
  try {
    oauth.validateAuthResponse(as, client, new URL(callback || plainUrl), state);
  } catch (caught) {
    error = caught instanceof oauth.AuthorizationResponseError ? caught.error : describeError(caught);
  }
  report.check("plain authorization request is invalid_request", error === "invalid_request", `${error} ${callback}`);
}

// RFC 9126 section 4: servers should treat a request_uri as one-time use, and unilogin does. The
// browser still has a session, so a second use that the server accepted would return a new
// code at once.
export async function checkRequestUriReuse(report, browser, url) {
  const response = await browser.fetch(url);
  const location = response.headers.get("location");
  report.check("reused request_uri shows an error page", response.status === 400 && !location, `HTTP ${response.status} ${location ?? ""}`.trimEnd());
}
