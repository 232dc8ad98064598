// Registers a client with the reference provider by dynamic registration (RFC 7591) and
// prints `client_id:` and `client_secret:` lines, the output of `unilogin client add`.
//
// Environment: ISSUER, REGISTRATION_TOKEN, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI, and
// BACKCHANNEL_LOGOUT_URI (optional).
const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
};

const metadata = {
  redirect_uris: [env("REDIRECT_URI")],
  post_logout_redirect_uris: [env("POST_LOGOUT_REDIRECT_URI")],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_basic",
};
if (process.env.BACKCHANNEL_LOGOUT_URI) {
  metadata.backchannel_logout_uri = process.env.BACKCHANNEL_LOGOUT_URI;
  metadata.backchannel_logout_session_required = true;
}

const response = await fetch(`${env("ISSUER")}/reg`, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${env("REGISTRATION_TOKEN")}` },
  body: JSON.stringify(metadata),
});
const body = await response.json();
if (response.status !== 201) {
  console.error(`registration failed with ${response.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
console.log(`client_id: ${body.client_id}`);
console.log(`client_secret: ${body.client_secret}`);
