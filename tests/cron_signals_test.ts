/**
 * Signals that stop dtee, at every stage (docs/behaviour.md A4, A5, A7):
 * in cron mode SIGHUP, SIGINT, SIGTERM and SIGPIPE end it promptly, also
 * while it writes out held output to a reader that is not reading; outside
 * cron mode a signal blocked when dtee started does not stay blocked, and
 * an inherited SIG_IGN stays.
 *
 * A Python driver starts dtee with its stdout a pipe that nobody reads,
 * waits for the stage wanted, sends the signal and times the end.
 */

import assert from "node:assert/strict";
import { CRONTY, DTEE, run } from "./helpers.ts";

/**
 * `python3 -c DRIVER PROGRAM STAGE SIGNAL [block=N] [ignore=N] -- COMMAND...`
 * STAGE: `full` waits until dtee has filled the unread stdout pipe; `marker`
 * waits until the command has created $MARKER (its output received by
 * dtee); `started` waits 1 s. Then SIGNAL (0: none) goes to dtee (with
 * `drain`, the pipe is then read to its end 0.3 s later, with `slow` 64 KiB
 * every 50 ms from the start; with `errfull`
 * dtee's stderr is a pipe that is full from the start), and the
 * driver prints JSON: how dtee ended (`status`, negative for a signal, or
 * null while it still runs after 3 s, when it is then killed), the seconds
 * from the signal to its end, and its stderr.
 */
const DRIVER = `
import fcntl, json, os, signal, struct, subprocess, sys, tempfile, termios, time
program, stage, sig = sys.argv[1], sys.argv[2], int(sys.argv[3])
rest = sys.argv[4:]
block = [int(a[6:]) for a in rest if a.startswith("block=")]
drain = "drain" in rest
# slow: after the signal, read the pipe 64 KiB every 50 ms to its end.
slow = "slow" in rest
# errfull: stderr is a pipe already full, read only at the end.
errfull = "errfull" in rest
ignore = [int(a[7:]) for a in rest if a.startswith("ignore=")]
command = rest[rest.index("--") + 1:]
marker = tempfile.mktemp()
r, w = os.pipe()
err = tempfile.TemporaryFile()
if errfull:
    er, err = os.pipe()
    os.set_blocking(err, False)
    prefill = 0
    try:
        while True: prefill += os.write(err, b"x" * 4096)
    except BlockingIOError:
        os.set_blocking(err, True)
def setup():
    for s in ignore:
        signal.signal(s, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, set(block))
env = dict(os.environ, MARKER=marker)
p = subprocess.Popen([program] + command, stdout=w, stderr=err, env=env, preexec_fn=setup)
os.close(w)
capacity = fcntl.fcntl(r, 1032)  # F_GETPIPE_SZ
deadline = time.time() + 20
def queued():
    return struct.unpack("i", fcntl.ioctl(r, termios.FIONREAD, b"\\0" * 4))[0]
while time.time() < deadline:
    if stage == "full" and queued() >= capacity: break
    if stage == "marker" and os.path.exists(marker): break
    if stage == "started": time.sleep(1); break
    time.sleep(0.01)
else:
    sys.exit("stage " + stage + " not reached")
time.sleep(0.2)
start = time.time()
if sig: p.send_signal(sig)
got = 0
if drain or slow:
    time.sleep(0.3 if drain else 0.05)
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk: break
        got += len(chunk)
        if slow: time.sleep(0.05)
try:
    status = p.wait(timeout=3)
except subprocess.TimeoutExpired:
    status = None
    p.kill()
    p.wait()
seconds = time.time() - start
if errfull:
    os.close(err)
    text = b""
    while True:
        chunk = os.read(er, 1 << 16)
        if not chunk: break
        text += chunk
    text = text[prefill:]
else:
    err.seek(0)
    text = err.read()
print(json.dumps({"status": status, "seconds": seconds,
                  "stderr": text.decode(), "queued": queued(), "drained": got}))
`;

interface Outcome {
  status: number | null;
  seconds: number;
  stderr: string;
  /** Bytes dtee had put in the unread pipe. */
  queued: number;
  /** With `drain`: every byte read from the pipe after the signal, to its end. */
  drained: number;
}

async function drive(
  program: string,
  stage: "full" | "marker" | "started",
  signal: number,
  command: string[],
  extra: string[] = [],
): Promise<Outcome> {
  const res = await run("python3", [
    "-c",
    DRIVER,
    program,
    stage,
    String(signal),
    ...extra,
    "--",
    ...command,
  ], {
    timeoutMs: 40_000,
  });
  assert.equal(res.code, 0, res.err);
  return JSON.parse(res.out);
}

const MIB = 1 << 20;
/** 1 MiB on stdout, more than any pipe holds by default, then `then`. */
const holdThen = (then: string) => ["sh", "-c", `head -c ${MIB} /dev/zero; ${then}`];

const SIGNALS: [number, string][] = [
  [15, "Terminated"],
  [2, "Interrupt"],
  [1, "Hangup"],
  [13, "Broken pipe"],
];

/** cronty said it received `signal` and died by it within a second. */
function diedPromptly(got: Awaited<ReturnType<typeof drive>>, signal: number, text: string) {
  assert.equal(got.status, -signal, JSON.stringify(got));
  assert.ok(got.seconds < 1, `ended after ${got.seconds} s`);
  assert.equal(got.stderr, `${CRONTY}: received signal ${signal}: ${text}\n`);
}

Deno.test("cron: a signal ends dtee while it writes held output to a reader that is not reading", async (t) => {
  for (const [signal, text] of SIGNALS) {
    await t.step(`signal ${signal}`, async () => {
      const got = await drive(CRONTY, "full", signal, holdThen("exit 1"));
      diedPromptly(got, signal, text);
    });
  }
});

Deno.test("cron: a signal while holding ends dtee though the held output finds no reader", async (t) => {
  for (const [signal, text] of SIGNALS) {
    await t.step(`signal ${signal}`, async () => {
      const got = await drive(CRONTY, "marker", signal, holdThen(': > "$MARKER"; exec sleep 30'));
      diedPromptly(got, signal, text);
      // It did try to write the held output out: as much as the pipe took.
      assert.ok(got.queued > 0, JSON.stringify(got));
    });
  }
});

Deno.test("cron: a signal while holding still writes the held output to a reader that reads slowly", async () => {
  const got = await drive(CRONTY, "marker", 15, holdThen(': > "$MARKER"; exec sleep 30'), ["slow"]);
  assert.equal(got.status, -15, JSON.stringify(got));
  assert.equal(got.drained, MIB);
  assert.equal(got.stderr, `${CRONTY}: received signal 15: Terminated\n`);
});

Deno.test("cron: a signal during pass-through to a reader that is not reading ends dtee", async () => {
  // The first stderr message switches to reporting: what follows passes straight through.
  const command = ["sh", "-c", `echo oops >&2; head -c ${MIB} /dev/zero; exec sleep 30`];
  const got = await drive(CRONTY, "full", 15, command);
  assert.equal(got.status, -15, JSON.stringify(got));
  assert.ok(got.seconds < 1, `ended after ${got.seconds} s`);
  assert.equal(got.stderr, `oops\n${CRONTY}: received signal 15: Terminated\n`);
});

Deno.test("cron: a signal ends dtee while its report line waits for a reader", async () => {
  const got = await drive(CRONTY, "started", 15, ["sh", "-c", "exit 1"], ["errfull"]);
  assert.equal(got.status, -15, JSON.stringify(got));
  assert.ok(got.seconds < 1, `ended after ${got.seconds} s`);
});

Deno.test("normal mode: SIGTERM during a blocked pass-through write still kills dtee silently", async () => {
  const got = await drive(DTEE, "full", 15, holdThen("exec sleep 30"));
  assert.equal(got.status, -15, JSON.stringify(got));
  assert.ok(got.seconds < 1, `ended after ${got.seconds} s`);
  assert.equal(got.stderr, "");
});

Deno.test("normal mode: a SIGPIPE sent while a write waits for the reader ends dtee silently", async () => {
  const got = await drive(DTEE, "full", 13, holdThen("exec sleep 30"));
  assert.equal(got.status, -13, JSON.stringify(got));
  assert.ok(got.seconds < 1, `ended after ${got.seconds} s`);
  assert.equal(got.stderr, "");
});

Deno.test("init: a forwarded SIGTERM does not cut short a write to a reader that is behind", async () => {
  // The command ignores SIGTERM, so the forwarded one changes nothing for it.
  const command = ["sh", "-c", `trap '' TERM; head -c ${MIB} /dev/zero`];
  const got = await drive(DTEE, "full", 15, ["--init", ...command], ["drain"]);
  assert.equal(got.status, 0, JSON.stringify(got));
  assert.equal(got.drained, MIB);
  assert.equal(got.stderr, "");
});

Deno.test("normal mode: started with SIGTERM blocked, dtee still dies by SIGTERM", async () => {
  const got = await drive(DTEE, "started", 15, ["sleep", "30"], ["block=15"]);
  assert.equal(got.status, -15, JSON.stringify(got));
  assert.equal(got.stderr, "");
});

Deno.test("normal mode: started with SIGHUP blocked, dtee dies by SIGHUP", async () => {
  const got = await drive(DTEE, "started", 1, ["sleep", "30"], ["block=1"]);
  assert.equal(got.status, -1, JSON.stringify(got));
});

Deno.test("normal mode: started with SIGHUP ignored (nohup), dtee survives SIGHUP", async () => {
  // The command ends by itself 1.5 s after the SIGHUP was sent.
  const got = await drive(DTEE, "started", 1, ["sleep", "2.7"], ["ignore=1", "block=1"]);
  assert.equal(got.status, 0, JSON.stringify(got));
  assert.ok(got.seconds > 1, `ended after ${got.seconds} s`);
});
