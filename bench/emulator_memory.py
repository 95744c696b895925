"""What the emulator's delivery history really costs: starts BINARY (the release emulator),
registers DEVICES web devices subscribed to one interest, sends PUBLISHES publishes of a
~2 KB web notification to that interest, and prints the emulator's RSS (VmRSS and VmHWM,
the peak, from /proc/<pid>/status) before and after, with the deliveries it kept.

    cargo build --release -p beams-emulator --features cli --bin beams-emulator
    python3 bench/emulator_memory.py target/release/beams-emulator 9000 120
"""
import http.client, json, os, re, subprocess, sys, time

binary = sys.argv[1]
devices = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
publishes = int(sys.argv[3]) if len(sys.argv) > 3 else 120
secret = "BENCHSECRET"
instance = "bench"
p = subprocess.Popen(
    [binary, "--port", "0", "--instance-id", instance, "--secret-key", secret],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="error"),
)
line = p.stdout.readline().decode()
port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))


def status(key):
    return int(re.search(key + r":\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1))


conn = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None, auth=False):
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = "Bearer " + secret
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    data = r.read()
    assert r.status == 200, (r.status, data)
    return data


time.sleep(0.5)
idle = status("VmRSS")
base = f"/device_api/v1/instances/{instance}/devices/web"
for _ in range(devices):
    device = json.loads(call("POST", base, {"token": "dG9rZW4=", "metadata": {"sdkVersion": "bench"}}))["id"]
    call("POST", f"{base}/{device}/interests/news")
registered = status("VmRSS")
notification = {
    "title": "Your order has shipped",
    "body": "A parcel is on its way. " * 40,
    "icon": "https://example.com/icon.png",
    "deep_link": "https://example.com/orders/1234567890",
}
data = {f"field_{i:02}": f"value number {i} of the customer data" for i in range(20)}
body = {"interests": ["news"], "web": {"notification": notification, "data": data}}
print(f"publish body: {len(json.dumps(body))} bytes of JSON")
path = f"/publish_api/v1/instances/{instance}/publishes/interests"
started = time.time()
for _ in range(publishes):
    call("POST", path, body, auth=True)
elapsed = time.time() - started
time.sleep(1)
after = status("VmRSS")
peak = status("VmHWM")
kept = len(json.loads(call("GET", "/_emulator/deliveries")))
print(
    f"{binary.split('/')[-1]}: {devices} devices, {publishes} publishes in {elapsed:.1f} s, "
    f"{kept} deliveries kept: RSS idle {idle / 1024:.1f} MB, with devices {registered / 1024:.1f} MB, "
    f"after publishing {after / 1024:.1f} MB (peak {peak / 1024:.1f} MB)"
)
p.kill()
