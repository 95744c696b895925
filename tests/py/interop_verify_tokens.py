"""Verifies Beams Tokens with PyJWT (pinned in requirements.txt), as a Python backend would.

stdin:  {"secret": "...", "issuer": "https://<id>.pushnotifications.pusher.com",
         "tokens": [{"token": "<jwt>", "sub": "<expected subject>"}, ...]}
stdout: one entry per token: {"ok": true, "header": {...}, "payload": {...}}
        or {"ok": false, "error": "<PyJWT's exception>"}
"""
import json
import sys

import jwt


def verify(secret, issuer, token, sub):
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            subject=sub,
            options={"require": ["exp", "iss", "sub"]},
        )
        if not isinstance(payload["exp"], int):
            raise ValueError("exp is not an integer")
        return {"ok": True, "header": jwt.get_unverified_header(token), "payload": payload}
    except Exception as e:  # noqa: BLE001 - every failure is a result
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def main():
    data = json.load(sys.stdin)
    results = [verify(data["secret"], data["issuer"], t["token"], t["sub"]) for t in data["tokens"]]
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
