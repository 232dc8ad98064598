#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate for 127.0.0.1 with openssl.
#
# Usage: conformance/lib/make-test-ca.sh FOLDER
# Writes into FOLDER (created if missing):
#   ca.pem          the CA certificate that clients trust (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE)
#   server.pem      the server certificate followed by the CA certificate
#   server-key.pem  the server's private key (PKCS#8 PEM)
# Keys are ECDSA P-256 and both certificates are valid for two days, so a run never outlives
# them. The CA's private key is deleted before the script exits, so nothing else can be issued
# under it.
set -euo pipefail
folder="${1:?usage: make-test-ca.sh FOLDER}"
mkdir -p "$folder"
cd "$folder"

trap 'rm -f ca-key.pem server.csr server-only.pem openssl.err' EXIT

# Runs an openssl command and shows its diagnostics only when it fails, because `x509 -req`
# reports every success on stderr.
quietly() {
  "$@" 2> openssl.err || { cat openssl.err >&2; return 1; }
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days 2 -subj "/CN=unilogin conformance test CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server-key.pem
openssl req -new -key server-key.pem -subj "/CN=127.0.0.1" -out server.csr
# RFC 2818 section 3.1: for a URL with an IP address, the certificate must carry that address
# as an iPAddress subjectAltName.
quietly openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem \
  -set_serial "0x$(openssl rand -hex 16)" -sha256 -days 2 -out server-only.pem -extfile <(
    printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1" \
      "subjectKeyIdentifier=hash" \
      "authorityKeyIdentifier=keyid"
  )
cat server-only.pem ca.pem > server.pem
