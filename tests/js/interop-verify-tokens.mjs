// Verifies Beams Tokens with Node's `jsonwebtoken` (pinned in package-lock.json), as a
// backend or a Node service receiving one would.
//
// stdin:  {"secret": "...", "issuer": "https://<id>.pushnotifications.pusher.com",
//          "tokens": [{"token": "<jwt>", "sub": "<expected subject>"}, ...]}
// stdout: one entry per token: {"ok": true, "header": {...}, "payload": {...}}
//         or {"ok": false, "error": "<jsonwebtoken's message>"}
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';

const input = JSON.parse(readFileSync(0, 'utf8'));
const results = input.tokens.map(({ token, sub }) => {
  try {
    const { header, payload } = jwt.verify(token, input.secret, {
      algorithms: ['HS256'],
      issuer: input.issuer,
      subject: sub,
      complete: true,
    });
    // jsonwebtoken checks exp/iss/sub only when present; Beams requires all three.
    for (const claim of ['exp', 'iss', 'sub']) {
      if (!(claim in payload)) throw new Error(`jwt ${claim} claim is missing`);
    }
    if (!Number.isInteger(payload.exp)) throw new Error('jwt exp is not an integer');
    return { ok: true, header, payload };
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
