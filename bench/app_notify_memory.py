"""What `/notify` to a user's own devices costs an example app in emulator mode: starts BINARY
(a release example app, embedded emulator), logs in, registers DEVICES web devices for that
user on the embedded emulator (each set to the user with a token from the app's own auth
route), sends NOTIFIES `POST /notify`, and prints the app's RSS (VmRSS and VmHWM, the peak,
from /proc/<pid>/status) before and after, with the deliveries the emulator kept.

    cargo build --release -p example-axum
    python3 bench/app_notify_memory.py target/release/example-axum 100 300
"""
import http.client, json, os, re, subprocess, sys, urllib.parse

binary = sys.argv[1]
devices = int(sys.argv[2]) if len(sys.argv) > 2 else 100
notifies = int(sys.argv[3]) if len(sys.argv) > 3 else 300
env = dict(os.environ, PORT="0", RUST_LOG="error")
for name in ("BEAMS_INSTANCE_ID", "BEAMS_SECRET_KEY", "REDIS_URL", "METRICS_ADDR"):
    env.pop(name, None)
p = subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
while True:
    line = p.stdout.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
    if not line:
        sys.exit("the app did not start")


def rss(key):
    return int(re.search(key + r":\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1)) / 1024


cookie = ""


def call(host_port, method, path, body=None, headers=None, form=False):
    global cookie
    conn = http.client.HTTPConnection("127.0.0.1", host_port)
    h = {"origin": f"http://127.0.0.1:{port}"}
    if cookie and host_port == port:
        h["cookie"] = cookie
    if body is not None:
        if form:
            body = urllib.parse.urlencode(body)
            h["content-type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(body)
            h["content-type"] = "application/json"
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    set_cookie = r.getheader("set-cookie")
    if set_cookie and host_port == port:
        cookie = set_cookie.split(";", 1)[0]
    conn.close()
    assert 200 <= r.status < 300, (method, path, r.status, data[:200])
    return json.loads(data) if data else None


user = "memory-bench"
call(port, "POST", "/login", {"username": user}, form=True)
config = call(port, "GET", "/demo-config")
emulator = int(re.search(r":(\d+)$", config["emulatorBaseUrl"].rstrip("/")).group(1))
instance = config["instanceId"]
token = call(port, "GET", f"{config['authPath']}?user_id={user}")["token"]
before_devices = rss("VmRSS")
for _ in range(devices):
    device = call(emulator, "POST", f"/device_api/v1/instances/{instance}/devices/web",
                  {"token": "{}", "metadata": {}})["id"]
    call(emulator, "PUT", f"/device_api/v1/instances/{instance}/devices/web/{device}/user", None,
         {"authorization": f"Bearer {token}"})
before = rss("VmRSS")
for i in range(notifies):
    call(port, "POST", "/notify", {"title": f"Notification {i}", "body": "x" * 200}, form=True)
after, peak = rss("VmRSS"), rss("VmHWM")
kept = len(call(emulator, "GET", f"/_emulator/users/{user}/deliveries"))
p.terminate()
p.wait()
print(f"{devices} devices, {notifies} notifies: RSS {before_devices:.0f} MB at start, "
      f"{before:.0f} MB with the devices, {after:.0f} MB after (peak {peak:.0f} MB); "
      f"{kept} deliveries kept for the user")
