// The peer of bench/load.sh: the auth route exactly as the Pusher Beams docs write it, on
// express + express-session (default MemoryStore) with the official Node server SDK.
//
//   PORT=3100 node server.js   → prints "listening on http://127.0.0.1:<port>"
//
// POST /login (form field `username`) starts the session; GET /pusher/beams-auth?user_id=…
// answers the Beams docs' way: 401 on a mismatch, else JSON.stringify(generateToken(userId)).
'use strict';

const express = require('express');
const session = require('express-session');
const PushNotifications = require('@pusher/push-notifications-server');

const beamsClient = new PushNotifications({
  instanceId: process.env.BEAMS_INSTANCE_ID || '1b880590-6301-4bb5-b34f-45db1c5f5644',
  secretKey: process.env.BEAMS_SECRET_KEY || 'F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE',
});

const app = express();
app.use(
  session({
    secret: 'bench-only-secret',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
);

app.post('/login', express.urlencoded({ extended: false }), (req, res) => {
  const username = req.body && req.body.username;
  if (!username) {
    res.status(400).json({ error: 'Bad Request', description: 'username is required' });
    return;
  }
  req.session.regenerate((err) => {
    if (err) {
      res.status(500).json({ error: 'Internal Server Error', description: String(err) });
      return;
    }
    req.session.userId = username;
    res.json({ user_id: username });
  });
});

// The Beams docs' route (https://pusher.com/docs/beams/guides/publish-to-specific-user/web/).
app.get('/pusher/beams-auth', (req, res) => {
  // Do your normal auth checks here
  const userId = req.session.userId;
  const userIDInQueryParam = req.query['user_id'];
  if (userId != userIDInQueryParam) {
    res.status(401).send('Inconsistent request');
  } else {
    const beamsToken = beamsClient.generateToken(userId);
    res.send(JSON.stringify(beamsToken));
  }
});

const port = Number(process.env.PORT || 3100);
const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
