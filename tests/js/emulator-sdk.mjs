// Drives the official Node server SDK (@pusher/push-notifications-server) against a beams-emulator.
//
// Connection (environment):
//   BEAMS_EMULATOR_HOST  host given to the SDK as `endpoint` (default 127.0.0.1; the SDK then speaks
//                        plain http)
//   BEAMS_EMULATOR_PORT  port given to the SDK as `port`
//   BEAMS_INSTANCE_ID, BEAMS_SECRET_KEY
// Operations (argv[2]): a JSON array, run in order, each one of
//   {"op":"publishToUsers","users":[…],"body":{…}}
//   {"op":"publishToInterests","interests":[…],"body":{…}}
//   {"op":"deleteUser","userId":"…"}
//   {"op":"generateToken","userId":"…"}
// any of which may carry "secretKey" to use another secret for that operation.
// Output (stdout): a JSON array of {"ok":true,"value":…} or {"ok":false,"error":"<message>"}.
import PushNotifications from '@pusher/push-notifications-server';

const host = process.env.BEAMS_EMULATOR_HOST || '127.0.0.1';
const port = Number(process.env.BEAMS_EMULATOR_PORT);
const instanceId = process.env.BEAMS_INSTANCE_ID;
const secretKey = process.env.BEAMS_SECRET_KEY;
if (!port || !instanceId || !secretKey) {
  console.error('BEAMS_EMULATOR_PORT, BEAMS_INSTANCE_ID and BEAMS_SECRET_KEY are required');
  process.exit(2);
}

const ops = JSON.parse(process.argv[2] || '[]');
const results = [];
for (const op of ops) {
  const client = new PushNotifications({
    instanceId,
    secretKey: op.secretKey ?? secretKey,
    endpoint: host,
    port,
  });
  try {
    let value;
    switch (op.op) {
      case 'publishToUsers':
        value = await client.publishToUsers(op.users, op.body);
        break;
      case 'publishToInterests':
        value = await client.publishToInterests(op.interests, op.body);
        break;
      case 'deleteUser':
        value = await client.deleteUser(op.userId);
        break;
      case 'generateToken':
        value = client.generateToken(op.userId);
        break;
      default:
        throw new Error(`unknown op ${op.op}`);
    }
    results.push({ ok: true, value: value ?? null });
  } catch (e) {
    results.push({ ok: false, error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(results));
