/** The shim's C ABI as lib/ffi.ts sees it: every symbol resolves, and the basic calls work. */
import assert from "node:assert/strict";
import { ABI_VERSION, Event, Stream } from "../lib/abi.ts";
import {
  abiVersion,
  Batch,
  close,
  Mask,
  openSockets,
  type Sockets,
  spawn,
  strerror,
  strsignal,
  symbols,
  wait,
} from "../lib/ffi.ts";
import { shimPath } from "../lib/shim_loader.ts";
import { tempTemplate } from "../lib/temp.ts";

Deno.test("every symbol of the table resolves in the built shim", () => {
  const lib = Deno.dlopen(shimPath(), symbols);
  try {
    for (const name of Object.keys(symbols)) {
      assert.equal(typeof lib.symbols[name as keyof typeof symbols], "function", name);
    }
    assert.equal(lib.symbols.dtee_abi_version(), ABI_VERSION);
    assert.equal(abiVersion(), ABI_VERSION);
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

function sockets(dir: string): Sockets {
  const opened = openSockets(tempTemplate("I", dir));
  assert.ok(opened.ok, JSON.stringify(opened));
  return opened.value;
}

Deno.test("a child's writes arrive in order, attributed to their stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = sockets(dir);
    // The directory and socket files are gone as soon as the sockets are connected.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.ok(s.maxWrite >= 8192 && s.maxWrite < s.sendBuffer);
    const child = spawn(
      ["sh", "-c", "printf one; printf two >&2; printf three; exit 7"],
      s.stdout,
      s.stderr,
    );
    assert.ok(child.ok, `spawn failed: ${JSON.stringify(child)}`);
    assert.ok(close(s.stdout).ok);
    assert.ok(close(s.stderr).ok);
    const batch = new Batch(s.sendBuffer, 16);
    const got: string[] = [];
    let status: number | undefined;
    while (status === undefined || batch.count > 0) {
      const r = batch.receive(s.input, status === undefined ? child.value.pidfd : -1, 5000);
      assert.ok(r.ok, `recv: ${JSON.stringify(r)}`);
      for (let i = 0; i < batch.count; i++) {
        const bytes = batch.data.subarray(i * batch.slotSize, i * batch.slotSize + batch.lens[i]);
        got.push(`${batch.streams[i]}:${new TextDecoder().decode(bytes)}`);
      }
      if (status === undefined && r.value.events & Event.child) {
        const reaped = wait(child.value.pid, false);
        assert.ok(reaped.ok);
        assert.equal(reaped.value.pid, child.value.pid);
        status = reaped.value.status;
      }
    }
    assert.deepEqual(got, [
      `${Stream.stdout}:one`,
      `${Stream.stderr}:two`,
      `${Stream.stdout}:three`,
    ]);
    assert.equal(status! >> 8, 7);
    close(s.input);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed batch write says at which message it stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = sockets(dir);
    const child = spawn(["sh", "-c", "printf a; printf b >&2; printf c"], s.stdout, s.stderr);
    assert.ok(child.ok);
    close(s.stdout);
    close(s.stderr);
    assert.ok(wait(child.value.pid, false).ok);
    const batch = new Batch(s.sendBuffer, 16);
    assert.ok(batch.receive(s.input, -1, 5000).ok);
    assert.equal(batch.count, 3);
    // A pipe whose reader is gone: EPIPE at the first wanted message.
    const fds = pipeFds();
    close(fds[0]);
    const ret = batch.write(fds[1], 1, 3, Mask.stdout);
    assert.deepEqual(ret, { ok: false, errno: 32, done: 2 });
    close(fds[1]);
    close(s.input);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A pipe through libc, since Deno offers none by descriptor number. */
function pipeFds(): [number, number] {
  const lib = Deno.dlopen("libc.so.6", { pipe: { parameters: ["buffer"], result: "i32" } });
  const fds = new Int32Array(2);
  assert.equal(lib.symbols.pipe(fds), 0);
  lib.close();
  return [fds[0], fds[1]];
}

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

Deno.test("a command that cannot be executed comes back as its errno and the exec step", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const s = sockets(dir);
    assert.deepEqual(spawn(["dtee-no-such-command"], s.stdout, s.stderr), {
      ok: false,
      errno: 2,
      stage: "exec",
    });
    for (const fd of [s.input, s.stdout, s.stderr]) close(fd);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
