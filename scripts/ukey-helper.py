#!/usr/bin/env python3
"""Development stand-in for the Ukey helper app (协卡助手).

Listens on 127.0.0.1 and answers the certificate sign-in page the way the real helper does:
POST /sign with {"nonce": "..."} returns the certificate and a signature over the nonce. The
signature is made by `unilogin dev-ca sign` with a key file instead of a USB key. The JSON
interface is described in docs/ukey-helper.md.

Usage:
  scripts/ukey-helper.py --cert data/dev-ca/issued/X.pem --key data/dev-ca/issued/X.key.pem \
      [--algorithm SHA256withRSA] [--port 18495] [--allow-origin http://127.0.0.1:8080] \
      [--unilogin target/release/unilogin]
"""

import argparse
import base64
import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4096


def certificate_der_base64(path):
    text = open(path, encoding="ascii").read()
    begin = "-----BEGIN CERTIFICATE-----"
    end = "-----END CERTIFICATE-----"
    if begin not in text or end not in text:
        sys.exit(f"{path}: no PEM certificate found")
    body = text.split(begin, 1)[1].split(end, 1)[0]
    der = base64.b64decode("".join(body.split()))
    return base64.b64encode(der).decode("ascii")


def make_handler(options, certificate):
    class Handler(BaseHTTPRequestHandler):
        def origin_allowed(self):
            # Only the platform's pages may ask for a signature: the signed nonce names no
            # site, so any other page could otherwise sign the user in on its own session.
            origin = self.headers.get("Origin")
            return origin is None or origin == options.allow_origin

        def cors(self):
            if self.origin_allowed() and self.headers.get("Origin"):
                self.send_header("Access-Control-Allow-Origin", options.allow_origin)
                self.send_header("Vary", "Origin")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            # Chrome sends a preflight before a public page may call a loopback address.
            self.send_header("Access-Control-Allow-Private-Network", "true")

        def reply(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self):
            self.send_response(204 if self.origin_allowed() else 403)
            self.cors()
            self.end_headers()

        def do_POST(self):
            if not self.origin_allowed():
                self.reply(403, {"error": "forbidden_origin", "message": f"only {options.allow_origin} may request signatures"})
                return
            if self.path != "/sign":
                self.reply(404, {"error": "not_found", "message": "use POST /sign"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                self.reply(400, {"error": "invalid_request", "message": "send a JSON body up to 4 KiB"})
                return
            try:
                request = json.loads(self.rfile.read(length))
                nonce = request["nonce"]
            except (ValueError, KeyError, TypeError):
                self.reply(400, {"error": "invalid_request", "message": 'expected {"nonce": "..."}'})
                return
            if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
                self.reply(400, {"error": "invalid_request", "message": "nonce must be a non-empty string"})
                return
            command = [
                options.unilogin, "dev-ca", "sign",
                "--key", options.key, "--algorithm", options.algorithm, f"--message={nonce}",
            ]
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if result.returncode != 0:
                self.reply(500, {"error": "sign_failed", "message": result.stderr.strip()})
                return
            self.reply(200, {
                "certificate": certificate,
                "signature": result.stdout.strip(),
                "algorithm": options.algorithm,
                "pin_verified": True,
            })

        def log_message(self, format, *args):
            sys.stderr.write("ukey-helper: " + (format % args) + "\n")

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Development stand-in for the Ukey helper app.")
    parser.add_argument("--cert", required=True, help="PEM certificate to present")
    parser.add_argument("--key", required=True, help="PKCS#8 PEM private key that signs")
    parser.add_argument("--algorithm", default="SHA256withRSA",
                        help="SM3withSM2, SHA256withRSA or SHA256withECDSA (default SHA256withRSA)")
    parser.add_argument("--port", type=int, default=18495, help="port on 127.0.0.1 (default 18495)")
    parser.add_argument("--allow-origin", default="http://127.0.0.1:8080",
                        help="origin of the platform's pages allowed to request signatures "
                             "(default http://127.0.0.1:8080)")
    parser.add_argument("--unilogin", default="target/release/unilogin",
                        help="path of the unilogin binary (default target/release/unilogin)")
    options = parser.parse_args()

    certificate = certificate_der_base64(options.cert)
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(options, certificate))
    print(f"ukey-helper listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
