"""Prints the Webhook-Signature Beams' docs compute for a body: the hex HMAC-SHA1 of the raw
request body bytes, keyed with the webhook secret (Python's own hmac module, independent of
the Rust code under test).

Usage: webhook_signature.py SECRET [sha1|sha256] < body
"""
import hashlib
import hmac
import sys

secret = sys.argv[1].encode()
digest = hashlib.sha256 if len(sys.argv) > 2 and sys.argv[2] == "sha256" else hashlib.sha1
body = sys.stdin.buffer.read()
print(hmac.new(secret, body, digest).hexdigest())
