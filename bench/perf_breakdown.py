#!/usr/bin/env python3
"""Where a request's server CPU goes: reads `perf script -F ip,sym,dso --no-inline` output
(samples with call chains, leaf first, separated by blank lines) on stdin and prints one
JSON object {category: share of samples} plus "samples".

Each sample is given to one owner:

- a sample in the kernel goes by the system call its chain passes through (send = the
  response's writev/sendto, which on loopback also delivers the bytes to the client and wakes
  it; recv; epoll_wait; anything else);
- a sample in user space goes to the innermost frame that belongs to a known crate (helpers
  such as core, alloc, std, http, bytes, serde, hashbrown or tracing, and shared libraries such
  as libc's malloc/memcpy, are passed over, so an allocation counts for the code that asked for
  it).

Used by bench/profile.sh; standard library only.
"""

import json
import re
import sys

KERNEL_SYSCALLS = [
    ("kernel: send the response (writev/sendto; loopback delivery and client wake-up included)",
     re.compile(r"__x64_sys_(writev|sendto|sendmsg|write)\b|\bdo_writev\b")),
    ("kernel: read the request (recv)", re.compile(r"__x64_sys_(recvfrom|recvmsg|read)\b")),
    ("kernel: epoll_wait", re.compile(r"__x64_sys_epoll_wait\b|\bdo_epoll_wait\b")),
]
KERNEL_OTHER = "kernel: other (accept, timers, interrupts, scheduling)"

# crate (first path segment of the frame's own type or function) -> category
CRATES = {
    "beams_core": "route",  # refined to token below
    "beams_axum": "route",
    "beams_actix": "route",
    "jsonwebtoken": "token",  # only the route signs with it here
    "hmac": "token",
    "tower_sessions": "session",
    "tower_sessions_core": "session",
    "tower_sessions_memory_store": "session",
    "tower_cookies": "session",
    "cookie": "session",
    "actix_session": "session",
    "actix_identity": "session",
    "aes_gcm": "session",
    "aead": "session",
    "aes": "session",
    "ctr": "session",
    "ghash": "session",
    "polyval": "session",
    "hkdf": "session",
}
# Helpers: passed over, the sample goes to whoever called them.
NEUTRAL = {
    "core", "alloc", "std", "hashbrown", "serde", "serde_json", "serde_core", "tracing",
    "tracing_core", "percent_encoding", "memchr", "smallvec", "itoa", "ryu", "form_urlencoded",
    "time", "parking_lot", "parking_lot_core", "lock_api", "subtle", "generic_array", "cipher",
    "block_buffer", "crypto_common", "futures_util", "futures_core", "pin_project_lite",
    # used by the route (HMAC-SHA256, its response) and by session layers and the HTTP stack
    # alike: the caller decides
    "sha2", "digest", "base64", "http", "bytes",
}
LABELS = {
    "token": "route: the token (claims, base64url, HMAC-SHA256)",
    "route": "route: the rest of beams-core and the adapter (query, decision, response)",
    "session": "session layer (cookie parsing, session load/decrypt, the user id read)",
    "app": "example app code (session read closure, bare handler, state clone)",
    "framework": "HTTP stack (hyper/axum or actix-http/actix-web, tokio)",
}


def owner_path(sym: str) -> str:
    """The path a frame belongs to: `<A as B>::m` -> A (B when A is a bare type parameter;
    nested `<<A as B>::C as D>` -> A), `core::ptr::drop_in_place<T>` -> T, `*const T` / `&T`
    -> T, otherwise the symbol itself."""
    s = sym.strip()
    m = re.match(r"(?:core::ptr::)?drop_in_place<(.*)>$", s)
    if m:
        s = m.group(1)
    s = re.sub(r"^(?:&(?:mut\s+)?|\*(?:const|mut)\s+|dyn\s+)+", "", s)
    if s.startswith("<"):
        depth = 0
        for i, ch in enumerate(s):
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            elif depth == 1 and s.startswith(" as ", i):
                first = owner_path(s[1:i])
                if "::" not in first.split("<")[0]:
                    # `<T as tower::…>` — a type parameter: the trait's crate
                    return owner_path(s[i + 4:])
                return first
        return s[1:]
    return s


def crate_of(sym: str) -> str:
    return re.split(r"::|<|\s", owner_path(sym), maxsplit=1)[0]


def classify(frames):
    """frames: list of (sym, dso), leaf first."""
    if not frames:
        return None
    if frames[0][1] == "[kernel.kallsyms]":
        chain = " ".join(sym for sym, _ in frames)
        for label, pat in KERNEL_SYSCALLS:
            if pat.search(chain):
                return label
        return KERNEL_OTHER
    for sym, dso in frames:
        if ".so" in dso.rsplit("/", 1)[-1] or dso.startswith("[") or sym == "[unknown]":
            continue  # shared libraries (libc's or jemalloc's malloc, memcpy, ...), vdso
        crate = crate_of(sym)
        if crate in NEUTRAL:
            continue
        if "example_support::actix::sessions" in sym or "example_support::axum::AppStore" in sym:
            cat = "session"  # the examples' session stores (actix's server-side one, axum's enum)
        elif crate in (
            "example_axum",
            "example_actix",
            "example_support",
            "example_axum_bench",
            "example_actix_bench",
        ):
            cat = "app"
        elif crate == "beams_core" and "beams_core::token" in sym:
            cat = "token"
        else:
            cat = CRATES.get(crate, "framework")
        return LABELS[cat]
    return LABELS["framework"]


def main():
    counts = {}
    total = 0
    frames = []

    def flush():
        nonlocal total
        label = classify(frames)
        if label:
            counts[label] = counts.get(label, 0) + 1
            total += 1
        frames.clear()

    frame_re = re.compile(r"^\s+[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$")
    for line in sys.stdin:
        if not line.strip():
            flush()
            continue
        m = frame_re.match(line)
        if m:
            frames.append((m.group(1), m.group(2)))
    flush()
    out = {k: v / total for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}
    out["samples"] = total
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
