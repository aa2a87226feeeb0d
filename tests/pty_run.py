#!/usr/bin/env python3
"""Runs a command in a new pseudo-terminal, as the leader of its session and the terminal's
foreground job, and drives it as a user at the keyboard would.

    pty_run.py STEPS COMMAND [ARG]...

STEPS is a JSON list of steps, done in order:
    ["expect", TEXT]    wait (at most 20 s) until TEXT has appeared in the output since the
                        last expect
    ["send", TEXT]      type TEXT ("\\u0003" is Ctrl-C, "\\u001a" Ctrl-Z)
    ["sleep", SECONDS]  wait, reading what comes

Prints one JSON object: "output" (everything the terminal showed), "failed" (the step that
timed out, or null) and "status" ({"code": N} or {"signal": N}). The command is killed when a
step fails or it has not ended 20 s after the last step.
"""

import json
import os
import pty
import select
import signal
import sys
import time

LIMIT = 20.0


def main() -> None:
    steps = json.loads(sys.argv[1])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    output = bytearray()
    seen = 0
    failed = None

    def read_some(timeout: float):
        """True: read something; None: nothing came within `timeout`; False: the end."""
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        output.extend(data)
        return len(data) > 0

    for step in steps:
        kind, text = step
        if kind == "send":
            os.write(fd, text.encode())
            continue
        if kind == "sleep":
            end = time.monotonic() + text
            while time.monotonic() < end:
                read_some(0.05)
            continue
        deadline = time.monotonic() + LIMIT
        want = text.encode()
        while output.find(want, seen) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or read_some(min(left, 0.1)) is False:
                break
        found = output.find(want, seen)
        if found < 0:
            failed = step
            break
        seen = found + len(want)
    if failed is not None:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + LIMIT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        read_some(0.05)
    while read_some(0) is True:
        pass
    os.close(fd)
    result = {"code": os.WEXITSTATUS(status)} if os.WIFEXITED(status) else {
        "signal": os.WTERMSIG(status)
    }
    print(json.dumps({"output": output.decode(errors="replace"), "failed": failed,
                      "status": result}))


main()
