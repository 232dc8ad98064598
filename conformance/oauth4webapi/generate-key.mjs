// Generates an ES256 (P-256) key pair for a private_key_jwt client and writes two files into
// FOLDER: jwks.json, the public JWK Set that `unilogin client add --jwks-file` registers, and
// private-key.json, the private JWK that check.mjs signs its client assertions with. Both carry
// the same kid, the key's RFC 7638 thumbprint.
//
// Usage: node generate-key.mjs FOLDER
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const folder = process.argv[2];
if (!folder) {
  console.error("usage: node generate-key.mjs FOLDER");
  process.exit(2);
}

const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
const publicJwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
const privateJwk = await crypto.subtle.exportKey("jwk", keyPair.privateKey);

// RFC 7638 section 3.2: the thumbprint hashes the required members in lexicographic order.
const thumbprintInput = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y });
const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(thumbprintInput));
const kid = Buffer.from(digest).toString("base64url");

const publicKey = { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y, kid, alg: "ES256", use: "sig" };
mkdirSync(folder, { recursive: true });
writeFileSync(join(folder, "jwks.json"), `${JSON.stringify({ keys: [publicKey] }, null, 2)}\n`);
writeFileSync(join(folder, "private-key.json"), `${JSON.stringify({ ...privateJwk, kid })}\n`, { mode: 0o600 });
