"""Tokens from the official Python server SDK (pusher_push_notifications.PushNotifications),
for comparing claim sets with ours.

The SDK computes exp as time.mktime((datetime.utcnow() + 1 day).timetuple()): mktime reads
that naive UTC time as local time, so exp is off by the host's UTC offset unless TZ=UTC. The
caller sets TZ=UTC.

stdin:  {"instanceId": "...", "secret": "...", "userIds": ["...", ...]}
stdout: {"now": <unix seconds before generating>, "tokens": ["<jwt>", ...]}
"""
import json
import sys
import time
import warnings

from pusher_push_notifications import PushNotifications


def main():
    data = json.load(sys.stdin)
    client = PushNotifications(instance_id=data["instanceId"], secret_key=data["secret"])
    now = int(time.time())
    with warnings.catch_warnings():
        # datetime.utcnow() is deprecated on newer Pythons; the SDK still calls it.
        warnings.simplefilter("ignore", DeprecationWarning)
        tokens = [client.generate_token(user)["token"] for user in data["userIds"]]
    json.dump({"now": now, "tokens": tokens}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
