#!/bin/sh
# Regenerates the test-only TLS files of the fake Twilio server: a private
# CA and a server certificate for "localhost" only (no IP address), so that
# https://localhost verifies with the CA and https://127.0.0.1 fails the
# host name check. Both are valid for 100 years, and the keys protect
# nothing.
set -eu
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 \
  -subj "/CN=Sky IQ test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' \
  > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
  -CAcreateserial -days 36500 -extfile server.ext -out server.pem
rm -f server.csr server.ext ca.srl ca.key
