"""Waits until a Wyoming server answers `describe` with `info`; with --synthesize,
then asks it to speak TEXT once (loads the voice, ~1 s for Piper) and waits for
the end of the audio. Stdlib only, so any python3 can run it.

    python3 scripts/wyoming-ready.py HOST:PORT [--synthesize TEXT] [--timeout SECONDS]
"""

import argparse
import json
import socket
import sys
import time


def events(sock):
    """Yields (type, data) of each event; skips data and payload blocks."""
    stream = sock.makefile("rb")
    while True:
        line = stream.readline()
        if not line:
            return
        header = json.loads(line)
        data = header.get("data") or {}
        if header.get("data_length"):
            data.update(json.loads(stream.read(header["data_length"])))
        if header.get("payload_length"):
            stream.read(header["payload_length"])
        yield header["type"], data


def ask(address, event, until, timeout):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall((json.dumps(event) + "\n").encode())
        for kind, _ in events(sock):
            if kind == until:
                return True
            if kind == "error":
                raise RuntimeError(f"{address} answered an error")
    return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("address")
    p.add_argument("--synthesize")
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args()
    address = a.address.removeprefix("tcp://")
    deadline = time.monotonic() + a.timeout
    while True:
        try:
            if ask(address, {"type": "describe"}, "info", 5.0):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"wyoming-ready: {address} did not answer describe in {a.timeout:.0f} s")
        time.sleep(0.2)  # polling a starting server, with a deadline
    if a.synthesize:
        event = {"type": "synthesize", "data": {"text": a.synthesize}}
        if not ask(address, event, "audio-stop", a.timeout):
            sys.exit(f"wyoming-ready: {address} did not finish synthesizing")


if __name__ == "__main__":
    main()
