/** The shim's C ABI as lib/ffi.ts sees it: every symbol resolves, and the basic calls work. */
import assert from "node:assert/strict";
import * as abi from "../lib/abi.ts";
import { ABI_VERSION, Event, Mask, Stream } from "../lib/abi.ts";
import {
  Batch,
  close,
  messagesLocale,
  openSockets,
  setTimer,
  signalGroup,
  type Sockets,
  spawn,
  strerror,
  strsignal,
  wait,
  writeAll,
} from "../lib/ffi.ts";
import { shimPath } from "../lib/shim_loader.ts";
import { symbols } from "../lib/symbols.ts";
import { tempTemplate } from "../lib/temp.ts";
import { procStat, sleep } from "./helpers.ts";

/** Fresh sockets in `dir`. */
function open(dir: string): Sockets {
  const opened = openSockets(tempTemplate("I", dir));
  assert.ok(opened.ok, JSON.stringify(opened));
  return opened.value;
}

/** Runs `body` with fresh sockets in a private directory, closing all afterwards. */
function withSockets(body: (sockets: Sockets) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    const sockets = open(dir);
    try {
      body(sockets);
    } finally {
      for (const fd of [sockets.input, sockets.stdout, sockets.stderr]) close(fd);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("every symbol of the table resolves in the built shim", () => {
  const lib = Deno.dlopen(shimPath(), symbols);
  try {
    for (const name of Object.keys(symbols)) {
      assert.equal(typeof lib.symbols[name as keyof typeof symbols], "function", name);
    }
    assert.equal(lib.symbols.dtee_abi_version(), ABI_VERSION);
    assert.equal(lib.symbols.dtee_abi_version(), abi.ABI_VERSION, "lib/abi.ts is generated");
  } finally {
    lib.close();
  }
});

Deno.test("a null pointer is EINVAL in every export that takes one", () => {
  const lib = Deno.dlopen(shimPath(), symbols);
  const EINVAL = -abi.Errno.EINVAL;
  try {
    const s = lib.symbols;
    const ints = new Int32Array(4);
    const big = new BigInt64Array(4);
    const bytes = new Uint8Array(64);
    const lens = new Uint32Array(4);
    const times = new BigInt64Array(4);
    const events = new Uint32Array(1);
    const word = new TextEncoder().encode("true\0");
    const calls: [string, () => number][] = [
      ["open_sockets template", () => s.dtee_open_sockets(null, ints, big, ints)],
      ["open_sockets fds", () => s.dtee_open_sockets(bytes, null, big, ints)],
      ["spawn words", () => s.dtee_spawn(null, 5n, 1, 1, 2, 0, ints)],
      ["spawn ids", () => s.dtee_spawn(word, 5n, 1, 1, 2, 0, null)],
      ["exec words", () => s.dtee_exec(null, 5n, 1)],
      ["recv buf", () => s.dtee_recv(-1, -1, null, 16, 4, lens, bytes, times, 0, events)],
      ["recv lens", () => s.dtee_recv(-1, -1, bytes, 16, 4, null, bytes, times, 0, events)],
      ["recv times", () => s.dtee_recv(-1, -1, bytes, 16, 4, lens, bytes, null, 0, events)],
      ["recv events", () => s.dtee_recv(-1, -1, bytes, 16, 4, lens, bytes, times, 0, null)],
      ["write_batch buf", () => s.dtee_write_batch(-1, null, 16, lens, bytes, 0, 1, 2, lens)],
      ["write_batch streams", () => s.dtee_write_batch(-1, bytes, 16, lens, null, 0, 1, 2, lens)],
      ["write_batch done", () => s.dtee_write_batch(-1, bytes, 16, lens, bytes, 0, 1, 2, null)],
      ["fd_info", () => s.dtee_fd_info(1, null)],
      ["path_info path", () => s.dtee_path_info(null, big)],
      ["path_info info", () => s.dtee_path_info(word, null)],
      ["write", () => s.dtee_write(-1, null, 1n)],
      ["wait status", () => s.dtee_wait(-1, 1, null)],
      ["open_output", () => s.dtee_open_output(null, 0)],
      ["temp_file", () => s.dtee_temp_file(null)],
      ["replay pieces", () => s.dtee_replay(-1, null, ints, 1, 0, ints)],
      ["replay dsts", () => s.dtee_replay(-1, big, null, 1, 0, ints)],
      ["replay stage", () => s.dtee_replay(-1, big, ints, 1, 0, null)],
      ["strerror", () => s.dtee_strerror(2, null, 16n)],
      ["strsignal", () => s.dtee_strsignal(2, null, 16n)],
      ["messages_locale", () => s.dtee_messages_locale(null, 16n)],
      ["invocation", () => s.dtee_invocation(null, 16n, 0)],
    ];
    for (const [what, call] of calls) assert.equal(call(), EINVAL, what);
  } finally {
    lib.close();
  }
});

Deno.test("error and signal texts come from the C library", () => {
  assert.equal(strerror(2), "No such file or directory");
  assert.equal(strerror(28), "No space left on device");
  assert.equal(strsignal(15), "Terminated");
  assert.equal(strsignal(2), "Interrupt");
});

Deno.test("a child's writes arrive in order, attributed to their stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sockets = open(dir);
    // The directory and socket files are gone as soon as the sockets are connected.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.ok(sockets.maxWrite >= 8192 && sockets.maxWrite < sockets.sendBuffer);
    const child = spawn(
      ["sh", "-c", "printf one; printf two >&2; printf three; exit 7"],
      sockets.stdout,
      sockets.stderr,
      false,
    );
    assert.ok(child.ok, `spawn failed: ${JSON.stringify(child)}`);
    assert.ok(close(sockets.stdout).ok);
    assert.ok(close(sockets.stderr).ok);
    const [got, status] = collect(sockets, child.value.pid, child.value.pidfd);
    assert.deepEqual(got, [
      `${Stream.stdout}:one`,
      `${Stream.stderr}:two`,
      `${Stream.stdout}:three`,
    ]);
    assert.equal(status >> 8, 7);
    close(sockets.input);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("socket setup failures name the step and the errno", () => {
  const missing = openSockets(tempTemplate("I", "/nonexistent-dtee-dir"));
  assert.deepEqual(missing, { ok: false, errno: 2, who: "directory", op: "open" });
  // A directory name that leaves no room in sun_path for the socket names.
  const long = Deno.makeTempDirSync({ prefix: "x".repeat(90) });
  try {
    const tooLong = openSockets(tempTemplate("I", long));
    assert.deepEqual(tooLong, { ok: false, errno: 36, who: "input", op: "bind" });
    assert.deepEqual([...Deno.readDirSync(long)], [], "nothing left behind");
  } finally {
    Deno.removeSync(long, { recursive: true });
  }
});

Deno.test("a command that cannot be executed comes back as its errno, at the exec stage", () => {
  withSockets((sockets) => {
    const missing = spawn(["dtee-no-such-command"], sockets.stdout, sockets.stderr, false);
    assert.deepEqual(missing, { ok: false, errno: 2, stage: "exec" });
    // Setting up the child's fds 1/2 comes before exec: a fork-stage failure.
    assert.deepEqual(spawn(["true"], 9999, 9999, false), { ok: false, errno: 9, stage: "fork" });
  });
});

/** Receives until the child `pid` has exited and the queue is empty: [stream:text, ...] and its status. */
function collect(sockets: Sockets, pid: number, pidfd: number): [string[], number] {
  const batch = new Batch(sockets.sendBuffer, 16);
  const got: string[] = [];
  let status: number | undefined;
  while (status === undefined || batch.count > 0) {
    const draining = status !== undefined;
    const r = batch.receive(sockets.input, draining ? -1 : pidfd, draining ? 0 : 5000);
    assert.ok(r.ok, `recv: ${JSON.stringify(r)}`);
    for (let i = 0; i < batch.count; i++) {
      const bytes = batch.data.subarray(i * batch.slotSize, i * batch.slotSize + batch.lens[i]);
      got.push(`${batch.streams[i]}:${new TextDecoder().decode(bytes)}`);
    }
    if (status === undefined && r.value.events & Event.child) {
      const reaped = wait(pid, false);
      assert.ok(reaped.ok);
      assert.equal(reaped.value.pid, pid);
      status = reaped.value.status;
    }
  }
  return [got, status];
}

Deno.test("datagrams carry the time the kernel queued them", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sockets = open(dir);
    const before = BigInt(Date.now()) * 1_000_000n;
    // Sent 50 ms apart by a clock of our own: a timer could fire late.
    const firstSent = performance.now();
    assert.ok(writeAll(sockets.stdout, new TextEncoder().encode("first")).ok);
    while (performance.now() - firstSent < 50) {
      // Busy-wait: the gap must not depend on the event loop.
    }
    const secondSent = performance.now();
    assert.ok(writeAll(sockets.stderr, new TextEncoder().encode("second")).ok);
    // Read well after both were sent: the times are not those of reading.
    await sleep(100);
    const batch = new Batch(4096, 4);
    assert.ok(batch.receive(sockets.input, -1, 1000).ok);
    assert.equal(batch.count, 2);
    const [first, second] = batch.times;
    const gapMs = Number(second - first) / 1e6;
    const sentMs = secondSent - firstSent;
    // Stamped when read, both would carry one time. A busy machine can only
    // stretch the gap (a preempted sender), never shorten it below 50 ms.
    assert.ok(gapMs >= 49, `gap ${gapMs} ms (sent ${sentMs} ms apart)`);
    assert.ok(gapMs <= sentMs + 10, `gap ${gapMs} ms, sent ${sentMs} ms apart`);
    assert.ok(
      first >= before - 1_000_000n && first < before + 1_000_000_000n,
      `${first} vs ${before}`,
    );
    for (const fd of [sockets.input, sockets.stdout, sockets.stderr]) close(fd);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a zero-length message is passed on as a zero-length datagram", () => {
  const batch = new Batch(4096, 4);
  // The command's empty write, as an inner dtee receives it. (The shim
  // attributes messages for the latest socket set only, so one at a time.)
  withSockets((inner) => {
    assert.ok(writeAll(inner.stderr, new Uint8Array(1).subarray(0, 0)).ok);
    assert.ok(batch.receive(inner.input, -1, 1000).ok);
    assert.equal(batch.count, 1);
    assert.deepEqual([batch.lens[0], batch.streams[0]], [0, Stream.stderr]);
  });
  // Passed on to a datagram socket (an outer dtee), it is a message too.
  withSockets((outer) => {
    assert.deepEqual(batch.write(outer.stderr, 0, 1, Mask.stderr), { ok: true, value: 1 });
    const got = new Batch(4096, 4);
    assert.ok(got.receive(outer.input, -1, 1000).ok);
    assert.equal(got.count, 1);
    assert.deepEqual([got.lens[0], got.streams[0]], [0, Stream.stderr]);
  });
});

Deno.test("texts follow the C locale when no locale is set", () => {
  // The test runner's environment decides; without LANG/LC_* it is C.
  const vars = ["LC_ALL", "LC_MESSAGES", "LANG"].map((v) => Deno.env.get(v)).filter(Boolean);
  const name = messagesLocale();
  if (vars.length === 0) assert.equal(name, "C");
  else assert.ok(name.length > 0, name);
});

Deno.test("a failed batch write says at which message it stopped", () => {
  withSockets((sockets) => {
    const child = spawn(
      ["sh", "-c", "printf a; printf b >&2; printf c"],
      sockets.stdout,
      sockets.stderr,
      false,
    );
    assert.ok(child.ok);
    assert.ok(wait(child.value.pid, false).ok);
    const batch = new Batch(sockets.sendBuffer, 16);
    assert.ok(batch.receive(sockets.input, -1, 5000).ok);
    assert.equal(batch.count, 3);
    // A pipe whose reader is gone: EPIPE at the first wanted message.
    const [reader, writer] = pipeFds();
    close(reader);
    assert.deepEqual(batch.write(writer, 1, 3, Mask.stdout), { ok: false, errno: 32, done: 2 });
    close(writer);
  });
});

/** A pipe through libc, since Deno offers none by descriptor number. */
function pipeFds(): [number, number] {
  const lib = Deno.dlopen("libc.so.6", { pipe: { parameters: ["buffer"], result: "i32" } });
  const fds = new Int32Array(2);
  assert.equal(lib.symbols.pipe(fds), 0);
  lib.close();
  return [fds[0], fds[1]];
}

/** The process group of `pid` (field 5 of /proc/PID/stat), or undefined once it is gone. */
function groupOf(pid: number): number | undefined {
  const fields = procStat(pid);
  return fields && Number(fields[2]);
}

Deno.test("the timer wakes a receive that would wait forever, once", () => {
  withSockets((sockets) => {
    const batch = new Batch(4096, 4);
    setTimer(50_000_000n);
    const start = performance.now();
    const r = batch.receive(sockets.input, -1, -1);
    const waited = performance.now() - start;
    assert.ok(r.ok);
    assert.equal(r.value.events, Event.timer);
    assert.ok(waited >= 49, `woke after ${waited} ms`);
    // Reported once: the next receive waits for its own timeout only.
    const again = batch.receive(sockets.input, -1, 10);
    assert.ok(again.ok);
    assert.equal(again.value.events, 0);
    // Cleared, it never fires.
    setTimer(20_000_000n);
    setTimer(0n);
    const cleared = batch.receive(sockets.input, -1, 60);
    assert.ok(cleared.ok);
    assert.equal(cleared.value.events, 0);
  });
});

Deno.test("the timer is reported while messages keep arriving", () => {
  withSockets((sockets) => {
    const batch = new Batch(4096, 4);
    setTimer(1n);
    assert.ok(writeAll(sockets.stdout, new TextEncoder().encode("x")).ok);
    const r = batch.receive(sockets.input, -1, -1);
    assert.ok(r.ok);
    assert.equal(batch.count, 1);
    assert.equal(r.value.events, Event.timer);
  });
});

Deno.test("a command in a group of its own: the group is signalled whole, grandchildren too", () => {
  withSockets((sockets) => {
    const child = spawn(
      ["sh", "-c", "sleep 30 & echo $!; wait"],
      sockets.stdout,
      sockets.stderr,
      true,
    );
    assert.ok(child.ok, JSON.stringify(child));
    const { pid } = child.value;
    assert.equal(groupOf(pid), pid, "the command leads a group of its own");
    const batch = new Batch(4096, 4);
    assert.ok(batch.receive(sockets.input, -1, 5000).ok);
    const grandchild = Number(new TextDecoder().decode(batch.data.subarray(0, batch.lens[0])));
    assert.equal(groupOf(grandchild), pid, "the grandchild is in the command's group");
    assert.ok(signalGroup(pid, abi.Signal.SIGTERM).ok);
    const reaped = wait(pid, false);
    assert.ok(reaped.ok);
    assert.equal(reaped.value.status & 0x7f, abi.Signal.SIGTERM);
    const deadline = Date.now() + 5000;
    while (groupOf(grandchild) !== undefined && Date.now() < deadline) {
      // The grandchild is init's to reap now: it goes within moments.
    }
    assert.equal(groupOf(grandchild), undefined, "the grandchild did not outlive the signal");
    // The group is gone: no error.
    assert.ok(signalGroup(pid, abi.Signal.SIGKILL).ok);
  });
});

Deno.test("without the flag the command stays in dtee's group", () => {
  withSockets((sockets) => {
    const child = spawn(["true"], sockets.stdout, sockets.stderr, false);
    assert.ok(child.ok);
    assert.equal(groupOf(child.value.pid), groupOf(Deno.pid));
    assert.ok(wait(child.value.pid, false).ok);
  });
});
