"""What unread pipelined answers cost a demo app: starts BINARY (PORT=0, emulator mode), sends
3 000 pipelined `GET /` on each of N connections without reading a byte, and prints the app's
RSS before, with the connections open, and after they close.

    cargo build -p example-actix -p example-axum
    python3 bench/pipelining.py target/debug/example-actix 1
    python3 bench/pipelining.py target/debug/example-axum 1
"""
import socket, subprocess, time, os, sys, re
binary=sys.argv[1]
env=dict(os.environ, PORT="0", RUST_LOG="error")
p=subprocess.Popen([binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
line=p.stdout.readline().decode()
port=int(re.search(r":(\d+)", line.split("http://")[1]).group(1))
def rss(): return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{p.pid}/status").read()).group(1))
time.sleep(1)
before=rss()
conns=[]
for c in range(int(sys.argv[2])):
    s=socket.create_connection(("127.0.0.1",port)); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"*3000
    s.setblocking(False)
    sent=0
    t=time.time()
    while sent<len(req) and time.time()-t<10:
        try: sent+=s.send(req[sent:])
        except BlockingIOError: time.sleep(0.01)
    conns.append(s)
time.sleep(3)
after=rss()
print(f"{binary.split('/')[-1]}: {len(conns)} connection(s) x 3000 pipelined GET / unread: RSS {before} -> {after} kB (+{(after-before)/1024:.1f} MB)")
for s in conns: s.close()
time.sleep(2); print(f"  after closing: {rss()} kB")
p.kill()
