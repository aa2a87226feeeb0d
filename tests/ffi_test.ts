/** The shim's C ABI as lib/ffi.ts sees it: every symbol resolves, and the basic calls work. */
import assert from "node:assert/strict";
import {
  ABI_VERSION,
  Batch,
  close,
  Event,
  openSockets,
  shimPath,
  spawn,
  Stream,
  strerror,
  strsignal,
  symbols,
  wait,
} from "../lib/ffi.ts";

Deno.test("every symbol of the table resolves in the built shim", () => {
  const lib = Deno.dlopen(shimPath(), symbols);
  try {
    for (const name of Object.keys(symbols)) {
      assert.equal(typeof lib.symbols[name as keyof typeof symbols], "function", name);
    }
    assert.equal(lib.symbols.dtee_abi_version(), ABI_VERSION);
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
    const sockets = openSockets(`${dir}/dteeXXXXXXXXIXXXXXX`);
    assert.ok("input" in sockets, JSON.stringify(sockets));
    // The directory and socket files are gone as soon as the sockets are connected.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.ok(sockets.maxWrite >= 8192 && sockets.maxWrite < sockets.sendBuffer);
    const child = spawn(
      ["sh", "-c", "printf one; printf two >&2; printf three; exit 7"],
      sockets.stdout,
      sockets.stderr,
    );
    assert.ok(typeof child === "object", `spawn failed: ${child}`);
    assert.equal(close(sockets.stdout), 0);
    assert.equal(close(sockets.stderr), 0);
    const batch = new Batch(sockets.sendBuffer, 16);
    const got: string[] = [];
    let status: number | undefined;
    while (status === undefined || batch.count > 0) {
      const n = batch.receive(sockets.input, status === undefined ? child.pidfd : -1, 5000);
      assert.ok(n >= 0, `recv: ${n}`);
      for (let i = 0; i < n; i++) {
        const bytes = batch.data.subarray(i * batch.slotSize, i * batch.slotSize + batch.lens[i]);
        got.push(`${batch.streams[i]}:${new TextDecoder().decode(bytes)}`);
      }
      if (status === undefined && batch.events[0] & Event.child) {
        const [pid, raw] = wait(child.pid, false);
        assert.equal(pid, child.pid);
        status = raw;
      }
    }
    assert.deepEqual(got, [
      `${Stream.stdout}:one`,
      `${Stream.stderr}:two`,
      `${Stream.stdout}:three`,
    ]);
    assert.equal(status! >> 8, 7);
    close(sockets.input);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("socket setup failures name the step and the errno", () => {
  const missing = openSockets("/nonexistent-dtee-dir/dteeXXXXXXXXIXXXXXX");
  assert.deepEqual(missing, { errno: 2, who: "directory", op: "open" });
  // A directory name that leaves no room in sun_path for the socket names.
  const long = Deno.makeTempDirSync({ prefix: "x".repeat(90) });
  try {
    const tooLong = openSockets(`${long}/dteeXXXXXXXXIXXXXXX`);
    assert.deepEqual(tooLong, { errno: 36, who: "input", op: "bind" });
    assert.deepEqual([...Deno.readDirSync(long)], [], "nothing left behind");
  } finally {
    Deno.removeSync(long, { recursive: true });
  }
});

Deno.test("a command that cannot be executed comes back as its errno", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sockets = openSockets(`${dir}/dteeXXXXXXXXIXXXXXX`);
    assert.ok("input" in sockets);
    assert.equal(spawn(["dtee-no-such-command"], sockets.stdout, sockets.stderr), -2);
    for (const fd of [sockets.input, sockets.stdout, sockets.stderr]) close(fd);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
