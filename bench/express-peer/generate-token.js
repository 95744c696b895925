// The peer's token alone: times the official Node server SDK's generateToken, the call the
// express peer (server.js) makes for every request, to set this machine's figure beside the
// issue's (about 480 µs).
//
//   cd bench/express-peer && taskset -c 0 node generate-token.js
//
// 2 000 warm-up calls, then 5 runs of 3 000 calls; prints the median µs per call and every run.
'use strict';

const PushNotifications = require('@pusher/push-notifications-server');

const client = new PushNotifications({
  instanceId: '1b880590-6301-4bb5-b34f-45db1c5f5644',
  secretKey: 'F8AC0B756E50DF235F642D6F0DC2CDE0328CD9184B3874C5E91AB2189BB722FE',
});

const WARM_UP = 2000;
const RUNS = 5;
const CALLS = 3000;

for (let i = 0; i < WARM_UP; i++) client.generateToken('bench-user');

const perCall = [];
for (let r = 0; r < RUNS; r++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) client.generateToken('bench-user');
  perCall.push(Number(process.hrtime.bigint() - start) / CALLS / 1000);
}
const sorted = [...perCall].sort((a, b) => a - b);
const fmt = (us) => us.toFixed(1);
console.log(
  `generateToken: median ${fmt(sorted[Math.floor(RUNS / 2)])} µs per call ` +
    `(${RUNS} runs of ${CALLS}: ${perCall.map(fmt).join(', ')})`,
);
