/**
 * The JSON Lines log (docs/behaviour.md B3, docs/jsonlog.md): record encoding, reading it back
 * for replay (B4) with every validation error, and the records against the published schema
 * (docs/jsonlog.schema.json, checked by Debian's python3-jsonschema) and jq.
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { decodeBytes } from "../lib/text.ts";
import { HAS_JQ, HAS_JSONSCHEMA, validate } from "./jsonlog_checks.ts";
import { formatTime, JsonLogEncoder, type MessageBatch } from "../lib/jsonlog.ts";
import { exitStatus, type RecordedEnd } from "../lib/run_end.ts";
import {
  LogError,
  LogReader,
  LogReadError,
  MAX_LINE,
  Pacer,
  parseTime,
  type RunFinish,
  type RunStart,
} from "../lib/replay.ts";
import { prng } from "./helpers.ts";

const text = new TextEncoder();
const lossy = new TextDecoder();

/** 2026-12-01T17:24:23Z in ns, computed independently of the code under test. */
const T0 = BigInt(Date.UTC(2026, 11, 1, 17, 24, 23)) * 1_000_000n;

interface Message {
  bytes: Uint8Array;
  stream: number;
  time: bigint;
}

function batchOf(messages: Message[], slotSize = 0): MessageBatch {
  const size = Math.max(slotSize, 1, ...messages.map((m) => m.bytes.length));
  const batch = {
    data: new Uint8Array(size * messages.length),
    slotSize: size,
    lens: new Uint32Array(messages.length),
    streams: new Uint8Array(messages.length),
    times: new BigInt64Array(messages.length),
  };
  messages.forEach((m, i) => {
    batch.data.set(m.bytes, i * size);
    batch.lens[i] = m.bytes.length;
    batch.streams[i] = m.stream;
    batch.times[i] = m.time;
  });
  return batch;
}

const msg = (bytes: Uint8Array | string, stream = 1, time = T0): Message => ({
  bytes: typeof bytes === "string" ? text.encode(bytes) : bytes,
  stream,
  time,
});

/** The text of the records of `messages`. */
function encodeMessages(messages: Message[]): string {
  const encoder = new JsonLogEncoder();
  encoder.start(T0, 1, ["x"], "r1");
  return lossy.decode(encoder.messages(batchOf(messages), 0, messages.length));
}

/** The record of one message, parsed. */
function record(bytes: Uint8Array | string): Record<string, unknown> {
  const line = encodeMessages([msg(bytes)]);
  ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1, line);
  return JSON.parse(line);
}

/** A batch-shaped receiver for the reader, like the live loop's. */
function receiver(slots: number, slotSize = 1 << 16): MessageBatch {
  return {
    data: new Uint8Array(slots * slotSize),
    slotSize,
    lens: new Uint32Array(slots),
    streams: new Uint8Array(slots),
    times: new BigInt64Array(slots),
  };
}

/**
 * A reader over bytes in memory, handing them out in pieces of at most `chunk` bytes, as a
 * file (`seekable`) or a pipe; `damages`: what it reported, in order.
 */
function readerOf(
  bytes: Uint8Array | string,
  chunk = 1 << 16,
  file = "log.json",
  seekable = true,
): LogReader & { damages: LogError[] } {
  const data = typeof bytes === "string" ? text.encode(bytes) : bytes;
  let at = 0;
  const damages: LogError[] = [];
  const reader = new LogReader(
    file,
    (buf) => {
      const n = Math.min(chunk, buf.length, data.length - at);
      buf.set(data.subarray(at, at + n));
      at += n;
      return n;
    },
    undefined,
    seekable ? (offset) => at = offset : undefined,
    {
      damaged: (e) => damages.push(e),
    },
  );
  return Object.assign(reader, { damages });
}

interface Run {
  start: RunStart;
  messages: Message[];
  finish: RunFinish | null;
}

/** Every run of a log, read with batches of `slots` slots. */
function readAll(reader: LogReader, slots = 32, slotSize?: number): Run[] {
  const batch = receiver(slots, slotSize);
  const runs: Run[] = [];
  for (let start = reader.nextRun(); start; start = reader.nextRun()) {
    const messages: Message[] = [];
    for (let n = reader.fill(batch); n > 0; n = reader.fill(batch)) {
      for (let i = 0; i < n; i++) {
        const at = i * batch.slotSize;
        messages.push({
          bytes: batch.data.slice(at, at + batch.lens[i]),
          stream: batch.streams[i],
          time: batch.times[i],
        });
      }
    }
    runs.push({ start, messages, finish: reader.finish! });
  }
  return runs;
}

// --- encoding ------------------------------------------------------------------------------

Deno.test("a message record: Docker's json-file keys first, in order, one line", () => {
  equal(
    encodeMessages([msg("hi\n", 1, T0 + 123456789n), msg("oops\n", 2, T0 + 5n)]),
    '{"log":"hi\\n","stream":"stdout","time":"2026-12-01T17:24:23.123456789Z","run":"r1"}\n' +
      '{"log":"oops\\n","stream":"stderr","time":"2026-12-01T17:24:23.000000005Z","run":"r1"}\n',
  );
  deepStrictEqual(Object.keys(record("x")), ["log", "stream", "time", "run"]);
});

Deno.test("messages from foreign senders are left out; from..to selects the messages", () => {
  const messages = [msg("a"), msg("b", 0), msg("c", 2), msg("d", 7), msg("e")];
  const encoder = new JsonLogEncoder();
  const batch = batchOf(messages);
  const logs = (from: number, to: number) =>
    lossy.decode(encoder.messages(batch, from, to)).split("\n").filter(Boolean)
      .map((l) => JSON.parse(l).log);
  deepStrictEqual(logs(0, 5), ["a", "c", "e"]);
  deepStrictEqual(logs(2, 4), ["c"]);
  deepStrictEqual(logs(1, 2), []);
  equal(encoder.messages(batch, 3, 3).length, 0);
});

Deno.test("the start record: time, pid, command words as given", () => {
  const encoder = new JsonLogEncoder();
  equal(
    lossy.decode(encoder.start(T0, 4242, ["sh", "-c", 'echo "hi"\tthere', ""], "0a1b")),
    '{"type":"start","run":"0a1b","time":"2026-12-01T17:24:23.000000000Z","pid":4242,' +
      '"command":["sh","-c","echo \\"hi\\"\\tthere",""]}\n',
  );
});

Deno.test("start record: words that are not UTF-8 are U+FFFD in command, exact in command_base64", () => {
  const words = [
    "ls",
    decodeBytes(new Uint8Array([0x66, 0xff, 0x6f])),
    decodeBytes(new Uint8Array([0xe2, 0x82])),
    "é",
  ];
  const line = lossy.decode(new JsonLogEncoder().start(T0, 7, words, "x"));
  const r = JSON.parse(line);
  deepStrictEqual(Object.keys(r), ["type", "run", "time", "pid", "command", "command_base64"]);
  deepStrictEqual(r.command, ["ls", "f\ufffdo", "\ufffd", "é"]);
  deepStrictEqual(r.command_base64, ["bHM=", "Zv9v", "4oI=", "w6k="]);
});

Deno.test("final records: exit code, signal with name and core flag, dtee's own signal", () => {
  const encoder = new JsonLogEncoder();
  encoder.start(T0, 1, ["x"], "r9");
  const end = (ended: RecordedEnd, name?: string) =>
    lossy.decode(encoder.end(T0 + 1n, ended, name));
  const time = '"run":"r9","time":"2026-12-01T17:24:23.000000001Z"';
  equal(end({ kind: "exited", code: 3 }), `{"type":"end",${time},"exit_code":3}\n`);
  equal(
    end({ kind: "signaled", signal: 9, coreDumped: false }, "Killed"),
    `{"type":"end",${time},"signal":9,"signal_name":"Killed","core_dumped":false}\n`,
  );
  equal(
    end({ kind: "signaled", signal: 11, coreDumped: true }, "Erreur de segmentation"),
    `{"type":"end",${time},"signal":11,"signal_name":"Erreur de segmentation","core_dumped":true}\n`,
  );
  equal(
    end({ kind: "dtee-signaled", signal: 15 }, "Terminated"),
    `{"type":"end",${time},"dtee_signal":15,"signal_name":"Terminated"}\n`,
  );
  // A time-out is said after how the command then ended (docs/jsonlog.md).
  equal(
    end({ kind: "timed-out", after: "30m", process: { kind: "exited", code: 3 } }),
    `{"type":"end",${time},"exit_code":3,"timed_out_after":"30m"}\n`,
  );
  equal(
    end(
      {
        kind: "timed-out",
        after: "1.5s",
        process: { kind: "signaled", signal: 9, coreDumped: false },
      },
      "Killed",
    ),
    `{"type":"end",${time},"signal":9,"signal_name":"Killed","core_dumped":false,"timed_out_after":"1.5s"}\n`,
  );
});

Deno.test("times: RFC 3339 UTC with 9 digits, before 1970 and at the ends of 64-bit ns", () => {
  const cases: [bigint, string][] = [
    [0n, "1970-01-01T00:00:00.000000000Z"],
    [-1n, "1969-12-31T23:59:59.999999999Z"],
    [-1_000_000_000n, "1969-12-31T23:59:59.000000000Z"],
    [951_782_400_000_000_000n + 86_399_999_999_999n, "2000-02-29T23:59:59.999999999Z"],
    [-(1n << 63n), "1677-09-21T00:12:43.145224192Z"],
    [(1n << 63n) - 1n, "2262-04-11T23:47:16.854775807Z"],
  ];
  const encoder = new JsonLogEncoder();
  for (const [ns, expected] of cases) {
    equal(formatTime(ns), expected);
    // The encoder's cached-second path, entered from both sides.
    for (const t of [ns, ns - 1n, ns]) {
      if (t < -(1n << 63n)) continue;
      const line = lossy.decode(encoder.messages(batchOf([msg("", 1, t)]), 0, 1));
      equal(JSON.parse(line).time, formatTime(t));
      equal(parseTime(formatTime(t)), t);
    }
  }
});

Deno.test("parseTime: the range of 64-bit ns since the epoch, to the ns", () => {
  equal(parseTime("1677-09-21T00:12:43.145224192Z"), -(1n << 63n));
  equal(parseTime("2262-04-11T23:47:16.854775807Z"), (1n << 63n) - 1n);
  for (const t of ["1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z"]) {
    equal(parseTime(t), `bad time "${t}" (outside the years 1677 to 2262)`);
  }
  // Not 1950, as Date.UTC alone would have it.
  equal(
    parseTime("0050-01-01T00:00:00Z"),
    'bad time "0050-01-01T00:00:00Z" (outside the years 1677 to 2262)',
  );
  equal(
    parseTime("2024-02-29T23:59:59.1+23:59"),
    BigInt(Date.UTC(2024, 1, 29, 0, 0, 59)) * 1_000_000n + 100_000_000n,
  );
  match(parseTime("2024-02-29T12:00:00+24:00") as string, /no such date or time/);
  match(parseTime("2024-02-29T12:00:60Z") as string, /no such date or time/);
});

Deno.test("control characters, NUL, quotes and backslashes are escaped as JSON.stringify does", () => {
  const all = new Uint8Array(0x80).map((_, i) => i);
  const line = encodeMessages([msg(all)]);
  equal(
    line,
    `{"log":${JSON.stringify(lossy.decode(all))},"stream":"stdout",` +
      `"time":"2026-12-01T17:24:23.000000000Z","run":"r1"}\n`,
  );
  ok(line.includes("\\u0000\\u0001"));
  ok(line.includes("\\b\\t\\n\\u000b\\f\\r"));
  ok(line.includes('!\\"#') && line.includes("[\\\\]"));
  // DEL is printable as far as JSON goes.
  ok(line.includes("~\x7f"));
  // Only the record's own newline.
  equal(line.split("\n").length, 2);
  equal(record(all).log, lossy.decode(all));
});

Deno.test("U+2028, U+2029 and U+0085 are escaped, so no line splitter cuts a record", () => {
  const input = "a\u2028b\u2029c\u0085d\u2027e";
  const line = encodeMessages([msg(input)]);
  ok(line.includes("a\\u2028b\\u2029c\\u0085d\u2027e"), line);
  equal(record(input).log, input);
  ok(!record(input).log_base64);
});

Deno.test("an empty message is a record too", () => {
  deepStrictEqual(record(""), {
    log: "",
    stream: "stdout",
    time: "2026-12-01T17:24:23.000000000Z",
    run: "r1",
  });
});

Deno.test("invalid UTF-8: U+FFFD as TextDecoder replaces it, exact bytes in log_base64", () => {
  const cases: [number[], string][] = [
    [[0x80], "\ufffd"],
    [[0xff, 0xfe], "\ufffd\ufffd"],
    [[0xc0, 0xaf], "\ufffd\ufffd"], // overlong
    [[0xe0, 0x80, 0x80], "\ufffd\ufffd\ufffd"], // overlong, E0 needs A0..BF
    [[0xed, 0xa0, 0x80], "\ufffd\ufffd\ufffd"], // a UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], "\ufffd\ufffd\ufffd\ufffd"], // beyond U+10FFFF
    [[0xe2, 0x82, 0x41], "\ufffdA"], // one subpart, then A afresh
    [[0xf0, 0x9f, 0x98], "\ufffd"], // truncated at the end
    [[0x41, 0xf0, 0x9f, 0x98, 0x80, 0xe2], "A😀\ufffd"],
  ];
  for (const [bytes, log] of cases) {
    const input = new Uint8Array(bytes);
    const r = record(input);
    equal(r.log, log, `${bytes}`);
    equal(r.log, lossy.decode(input));
    equal(r.log_base64, input.toBase64());
    deepStrictEqual(Object.keys(r), ["log", "stream", "time", "run", "log_base64"]);
  }
});

Deno.test("property: random bytes encode as TextDecoder decodes them, base64 only when needed", () => {
  const random = prng(0xb3);
  const encoder = new JsonLogEncoder(16);
  const fatal = new TextDecoder("utf-8", { fatal: true });
  for (let round = 0; round < 300; round++) {
    const messages = Array.from({ length: 1 + Math.floor(random() * 8) }, () => {
      const bytes = new Uint8Array(Math.floor(random() * 40));
      // Mostly UTF-8 lead and continuation bytes, so that valid sequences happen too.
      for (let i = 0; i < bytes.length; i++) {
        const r = random();
        bytes[i] = r < 0.3 ? Math.floor(random() * 0x80) : 0x80 + Math.floor(random() * 0x80);
      }
      return msg(bytes, 1 + (round & 1), T0 + BigInt(Math.floor(random() * 1e12)));
    });
    const lines = lossy.decode(encoder.messages(batchOf(messages), 0, messages.length))
      .split("\n");
    equal(lines.pop(), "");
    lines.forEach((line, i) => {
      const r = JSON.parse(line);
      const bytes = messages[i].bytes;
      equal(r.log, lossy.decode(bytes));
      let valid = true;
      try {
        fatal.decode(bytes);
      } catch {
        valid = false;
      }
      equal(r.log_base64, valid ? undefined : bytes.toBase64());
      // Valid text is written as JSON.stringify writes it, but for the three line breaks.
      if (valid) {
        const stringified = JSON.stringify(r.log).replace(
          /[\u0085\u2028\u2029]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        );
        ok(line.startsWith(`{"log":${stringified},`), line);
      }
    });
  }
});

Deno.test("1 MiB messages, including the worst case for the buffer (all escapes)", () => {
  const random = prng(1);
  const big = new Uint8Array(1 << 20).map(() => Math.floor(random() * 256));
  const controls = new Uint8Array(1 << 20).map((_, i) => i % 32);
  const encoder = new JsonLogEncoder(64);
  const batch = batchOf([msg(big), msg(controls, 2), msg("after")]);
  const lines = lossy.decode(encoder.messages(batch, 0, 3)).split("\n");
  equal(lines.length, 4);
  const [a, b, c] = lines.map((l) => l && JSON.parse(l));
  equal(a.log, lossy.decode(big));
  deepStrictEqual(Uint8Array.fromBase64(a.log_base64), big);
  equal(b.log, lossy.decode(controls));
  equal(b.log_base64, undefined);
  equal(c.log, "after");
});

Deno.test("the encoder's buffer is reused: a view holds until the next call", () => {
  const encoder = new JsonLogEncoder();
  const first = encoder.messages(batchOf([msg("first")]), 0, 1);
  const copy = first.slice();
  encoder.messages(batchOf([msg("other")]), 0, 1);
  ok(!copy.every((b, i) => b === first[i]));
  equal(first.buffer, encoder.messages(batchOf([msg("x")]), 0, 1).buffer);
});

// --- reading back ---------------------------------------------------------------------------

/** A log of `runs` as the encoder writes it. */
function logOf(runs: { command: string[]; pid: number; messages: Message[]; end: RecordedEnd }[]) {
  const encoder = new JsonLogEncoder(8);
  const parts: Uint8Array[] = [];
  for (const [r, run] of runs.entries()) {
    parts.push(encoder.start(run.messages[0]?.time ?? T0, run.pid, run.command, `run${r}`).slice());
    // Several batches per run, as the live loop delivers them.
    for (let i = 0; i < run.messages.length; i += 5) {
      const batch = batchOf(run.messages.slice(i, i + 5));
      parts.push(encoder.messages(batch, 0, batch.lens.length).slice());
    }
    const end = run.end.kind === "timed-out" ? run.end.process : run.end;
    const name = end.kind === "exited" ? "" : `signal ${end.signal}`;
    parts.push(encoder.end(T0 + 99n, run.end, name).slice());
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function recorded(end: RecordedEnd): RecordedEnd {
  if (end.kind === "exited") return end;
  if (end.kind === "timed-out") {
    const process = recorded(end.process) as typeof end.process;
    return { ...end, process };
  }
  const signalName = `signal ${end.signal}`;
  return end.kind === "signaled" ? { ...end, signalName } : { ...end, signalName };
}

Deno.test("property: encode, then read back, gives the same bytes, streams, times and ends", () => {
  const random = prng(20261201);
  const ends: RecordedEnd[] = [
    { kind: "exited", code: 0 },
    { kind: "exited", code: 255 },
    { kind: "signaled", signal: 9, coreDumped: false },
    { kind: "signaled", signal: 6, coreDumped: true },
    { kind: "dtee-signaled", signal: 15 },
    { kind: "timed-out", after: "10m", process: { kind: "exited", code: 0 } },
    {
      kind: "timed-out",
      after: "1e-3s",
      process: { kind: "signaled", signal: 9, coreDumped: false },
    },
  ];
  for (let round = 0; round < 20; round++) {
    const runs = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, r) => ({
      command: [`cmd${r}`, decodeBytes(new Uint8Array([0x61, 0x80 + r])), "b c"],
      pid: 1 + Math.floor(random() * 4e6),
      end: ends[Math.floor(random() * ends.length)],
      messages: Array.from({ length: Math.floor(random() * 40) }, () => {
        const length = random() < 0.1 ? 0 : Math.floor(random() ** 3 * 3000);
        const bytes = new Uint8Array(length);
        const mix = random();
        for (let i = 0; i < length; i++) {
          bytes[i] = random() < mix ? 0x20 + Math.floor(random() * 95) : Math.floor(random() * 256);
        }
        const time = BigInt(Math.floor((random() - 0.5) * 2 ** 52)) * 1024n + BigInt(round);
        return msg(bytes, random() < 0.5 ? 1 : 2, time);
      }),
    }));
    const log = logOf(runs);
    // Odd chunk sizes split lines and UTF-8 sequences between reads.
    const reader = readerOf(log, 1 + Math.floor(random() * 5000));
    const back = readAll(reader, 1 + Math.floor(random() * 7), 4096);
    equal(back.length, runs.length);
    back.forEach((run, r) => {
      deepStrictEqual(run.start.command, runs[r].command);
      equal(run.start.pid, runs[r].pid);
      deepStrictEqual(run.messages, runs[r].messages);
      deepStrictEqual(run.finish?.end, recorded(runs[r].end));
      equal(run.finish?.timeNs, T0 + 99n);
    });
  }
});

Deno.test("property: runs whose records interleave (overlapping appenders) read back whole, in the order they started", () => {
  const random = prng(16_04);
  for (let round = 0; round < 30; round++) {
    const runs = Array.from({ length: 2 + Math.floor(random() * 4) }, (_, r) => ({
      command: [`job${r}`],
      pid: 100 + r,
      end: { kind: "exited", code: r } as RecordedEnd,
      messages: Array.from(
        { length: Math.floor(random() * 30) },
        (_, i) => msg(`r${r}m${i}\n`, 1 + (i % 2)),
      ),
    }));
    // Each run's lines in its own order, the runs' lines shuffled together, each run's start
    // before its other lines: what appending processes that overlap write.
    const own = runs.map((run) => lossy.decode(logOf([run])).replaceAll('"run0"', `"id${run.pid}"`))
      .map((text) => text.split("\n").filter(Boolean));
    const mixed: string[] = [];
    const at = own.map(() => 0);
    while (at.some((n, r) => n < own[r].length)) {
      const r = Math.floor(random() * own.length);
      // A run starts only after the runs before it have started: their order is the starts'.
      if (at[r] === 0 && at.slice(0, r).some((n) => n === 0)) continue;
      if (at[r] < own[r].length) mixed.push(own[r][at[r]++]);
    }
    for (const seekable of [true, false]) {
      const reader = readerOf(
        mixed.join("\n") + "\n",
        1 + Math.floor(random() * 300),
        "l",
        seekable,
      );
      const back = readAll(reader, 1 + Math.floor(random() * 5));
      deepStrictEqual(reader.damages, []);
      deepStrictEqual(back.map((run) => run.start.pid), runs.map((run) => run.pid));
      back.forEach((run, r) => {
        deepStrictEqual(run.messages, runs[r].messages, `seekable ${seekable}`);
        deepStrictEqual(run.finish?.end, recorded(runs[r].end));
      });
    }
  }
});

Deno.test("a run with no final record among overlapping runs: reported at the end of the file, the others whole", () => {
  const A = (rest: string) => `{${rest},"run":"A"}`;
  const B = (rest: string) => `{${rest},"run":"B"}`;
  const start = '"type":"start","time":"2026-12-01T17:24:23Z","pid":1,"command":["x"]';
  const m = (text: string) => `"log":"${text}","stream":"stdout","time":"2026-12-01T17:24:23Z"`;
  const end = '"type":"end","time":"2026-12-01T17:24:23Z","exit_code":0';
  const log = [A(start), A(m("a1")), B(start), B(m("b1")), A(m("a2")), B(end), "{cut"].join("\n");
  for (const seekable of [true, false]) {
    const reader = readerOf(log + "\n", 16, "j", seekable);
    const runs = readAll(reader);
    deepStrictEqual(runs.map((r) => r.messages.map((x) => lossy.decode(x.bytes))), [
      ["a1", "a2"],
      ["b1"],
    ]);
    equal(runs[0].finish, null);
    deepStrictEqual(reader.damages.map((e) => e.message), [
      "j:7: not valid JSON (Expected property name or '}' in JSON at position 1 (line 1 column 2))",
      "j:8: end of file inside the run started at line 1 (no final record)",
    ]);
  }
});

Deno.test("a run's status: the exit code, or 128+N for a signal", () => {
  equal(exitStatus({ kind: "exited", code: 3 }), 3);
  equal(
    exitStatus({ kind: "signaled", signal: 9, signalName: "Killed", coreDumped: false }),
    137,
  );
  equal(exitStatus({ kind: "dtee-signaled", signal: 15, signalName: "Terminated" }), 143);
  // Timed out: 124, or 137 when SIGKILL ended it, as timeout(1) (docs/behaviour.md B7).
  const killed = { kind: "signaled", signal: 9, coreDumped: false } as const;
  equal(exitStatus({ kind: "timed-out", after: "1s", process: { kind: "exited", code: 0 } }), 124);
  equal(exitStatus({ kind: "timed-out", after: "1s", process: { kind: "exited", code: 3 } }), 124);
  equal(
    exitStatus({ kind: "timed-out", after: "1s", process: { ...killed, signal: 15 } }),
    124,
  );
  equal(exitStatus({ kind: "timed-out", after: "1s", process: killed }), 137);
  equal(exitStatus({ kind: "timed-out", after: "1s", process: killed }, 74), 74);
});

Deno.test("reading: keys dtee does not write are ignored; any RFC 3339 time is accepted", () => {
  const log = [
    '{"type":"start","time":"2026-12-01T18:24:23+01:00","pid":1,"command":["x"],"v":2}',
    '{"log":"a","stream":"stdout","time":"2026-12-01T17:24:23.5Z","attrs":{}}',
    '{"log":"b","stream":"stderr","time":"2026-12-01t12:24:23.000000001-05:00"}',
    '{"type":"end","time":"2026-12-01T17:24:24Z","exit_code":0}',
    "",
  ].join("\n");
  const [run] = readAll(readerOf(log));
  equal(run.start.timeNs, T0);
  deepStrictEqual(run.messages.map((m) => m.time), [T0 + 500_000_000n, T0 + 1n]);
  deepStrictEqual(run.messages.map((m) => m.stream), [1, 2]);
});

Deno.test("reading is incremental: messages before a bad line come first, then the error, then the rest", () => {
  const good = lossy.decode(
    logOf([{
      command: ["x"],
      pid: 1,
      end: { kind: "exited", code: 0 },
      messages: [msg("1"), msg("2"), msg("3"), msg("4")],
    }]),
  );
  // The fourth message is replaced by a broken line (line 5).
  const lines = good.split("\n");
  lines[4] = "{broken";
  const reader = readerOf(lines.join("\n"));
  reader.nextRun();
  const batch = receiver(32);
  equal(reader.fill(batch), 3);
  equal(reader.damages.length, 0, "not before the messages before it are handed out");
  equal(reader.fill(batch), 0);
  deepStrictEqual(reader.damages.map((e) => e.line), [5]);
  deepStrictEqual(reader.finish?.end, { kind: "exited", code: 0 });
  equal(reader.nextRun(), null);
  equal(reader.damages.length, 1, "reported once");
});

/** The first damage reading `log` runs into, and how many messages were handed out before it. */
function failure(log: string, slotSize?: number): { message: string; delivered: number } {
  const reader = readerOf(log, 7, "job.jsonl");
  const batch = receiver(4, slotSize);
  let delivered = 0;
  let first: { message: string; delivered: number } | undefined;
  reader.events.damaged = (error) => {
    equal(error.message, `${error.file}:${error.line}: ${error.what}`);
    first ??= { message: error.message, delivered };
  };
  while (reader.nextRun()) {
    for (let n = reader.fill(batch); n > 0; n = reader.fill(batch)) delivered += n;
  }
  if (first) return first;
  throw new Error(`no error in ${JSON.stringify(log)}`);
}

const START = '{"type":"start","time":"2026-12-01T17:24:23.000000000Z","pid":9,"command":["x"]}';
const M = '{"log":"m","stream":"stdout","time":"2026-12-01T17:24:23.000000000Z"}';
const END = '{"type":"end","time":"2026-12-01T17:24:23.000000000Z","exit_code":0}';
const TIME = '"time":"2026-12-01T17:24:23.000000000Z"';

Deno.test("every validation error names the file and line, after what came before", () => {
  const cases: [string[], number, RegExp | string][] = [
    [[START, M, "nope"], 3, /^not valid JSON \(.+\)$/],
    // An empty line is what a record cut short leaves before the next one: no damage.
    [[START, M, ""], 4, "end of file inside the run started at line 1 (no final record)"],
    [[START, M, "[1,2]"], 3, "not a JSON object"],
    [[START, M, "null"], 3, "not a JSON object"],
    [[START, M, `{"stream":"stdout",${TIME}}`], 3, 'missing key "log"'],
    [[START, M, `{"log":"m",${TIME}}`], 3, 'missing key "stream"'],
    [[START, M, '{"log":"m","stream":"stdout"}'], 3, 'missing key "time"'],
    [[START, M, `{"log":1,"stream":"stdout",${TIME}}`], 3, '"log" is not a string'],
    [[START, M, `{"log":"m","stream":"stdin",${TIME}}`], 3, 'unknown stream "stdin"'],
    [[START, M, `{"log":"m","stream":1,${TIME}}`], 3, '"stream" is not a string'],
    [[START, M, '{"log":"m","stream":"stdout","time":5}'], 3, '"time" is not a string'],
    [
      [START, M, `{"log":"\\ufffd","stream":"stdout",${TIME},"log_base64":"gA"}`],
      3,
      '"log_base64" is not valid base64',
    ],
    [
      [START, M, `{"log":"\\ufffd","stream":"stdout",${TIME},"log_base64":"gB=="}`],
      3,
      '"log_base64" is not valid base64',
    ],
    [
      [START, M, `{"log":"\\ufffd","stream":"stdout",${TIME},"log_base64":"g A="}`],
      3,
      '"log_base64" is not valid base64',
    ],
    [
      [START, M, `{"log":"\\ufffd","stream":"stdout",${TIME},"log_base64":7}`],
      3,
      '"log_base64" is not valid base64',
    ],
    [
      [START, M, `{"log":"x","stream":"stdout",${TIME},"log_base64":"gA=="}`],
      3,
      '"log" does not match "log_base64"',
    ],
    [
      [START, M, `{"log":"\\udc80","stream":"stdout",${TIME}}`],
      3,
      '"log" holds a lone surrogate (not Unicode text)',
    ],
    [
      [START, M, '{"log":"m","stream":"stdout","time":"2026-12-01 17:24:23Z"}'],
      3,
      'bad time "2026-12-01 17:24:23Z" (not RFC 3339)',
    ],
    [
      [START, M, '{"log":"m","stream":"stdout","time":"2026-02-29T00:00:00Z"}'],
      3,
      'bad time "2026-02-29T00:00:00Z" (no such date or time)',
    ],
    [
      [START, M, '{"log":"m","stream":"stdout","time":"2026-12-01T24:00:00Z"}'],
      3,
      /no such date or time/,
    ],
    [
      [START, M, '{"log":"m","stream":"stdout","time":"2026-12-01T17:24:23.1234567890Z"}'],
      3,
      /not RFC 3339/,
    ],
    [
      [START, M, '{"log":"m","stream":"stdout","time":"2263-01-01T00:00:00Z"}'],
      3,
      'bad time "2263-01-01T00:00:00Z" (outside the years 1677 to 2262)',
    ],
    [[START, M, '{"type":"middle"}'], 3, 'unknown record type "middle"'],
    [[M], 1, "message record outside a run (no start record before it)"],
    [[START, M, END, M], 4, "message record outside a run (no start record before it)"],
    [[END], 1, "final record outside a run (no start record before it)"],
    [
      [START, M, START],
      3,
      "start record inside the run started at line 1 (that run has no final record)",
    ],
    [[START, M, M], 4, "end of file inside the run started at line 1 (no final record)"],
    [
      [START, M, END, START, M],
      6,
      "end of file inside the run started at line 4 (no final record)",
    ],
    [[START.replace('"pid":9', '"pid":0')], 1, '"pid" is not a positive integer'],
    [[START.replace(',"pid":9', "")], 1, 'missing key "pid"'],
    [
      [START.replace('"command":["x"]', '"command":[]')],
      1,
      '"command" is not a non-empty array of strings',
    ],
    [
      [START.replace('"command":["x"]', '"command":["x",1]')],
      1,
      '"command" is not a non-empty array of strings',
    ],
    [
      [START.replace('["x"]', '["x"],"command_base64":["eA==","eQ=="]')],
      1,
      '"command_base64" is not an array as long as "command"',
    ],
    [
      [START.replace('["x"]', '["x"],"command_base64":["eQ=="]')],
      1,
      '"command"[0] does not match "command_base64"[0]',
    ],
    [
      [START.replace('["x"]', '["x"],"command_base64":["eA"]')],
      1,
      '"command_base64"[0] is not valid base64',
    ],
    [
      [START, M, `{"type":"end",${TIME}}`],
      3,
      'final record needs exactly one of "exit_code", "signal" and "dtee_signal" (none given)',
    ],
    [
      [START, M, `{"type":"end",${TIME},"exit_code":0,"signal":9}`],
      3,
      'final record needs exactly one of "exit_code", "signal" and "dtee_signal" ' +
      '("exit_code" and "signal" given)',
    ],
    [
      [START, M, `{"type":"end",${TIME},"exit_code":256}`],
      3,
      '"exit_code" is not an integer from 0 to 255',
    ],
    [
      [START, M, `{"type":"end",${TIME},"exit_code":1.5}`],
      3,
      '"exit_code" is not an integer from 0 to 255',
    ],
    [
      [START, M, `{"type":"end",${TIME},"signal":0,"signal_name":"","core_dumped":false}`],
      3,
      '"signal" is not an integer from 1 to 127',
    ],
    [
      [START, M, `{"type":"end",${TIME},"signal":9,"core_dumped":false}`],
      3,
      'missing key "signal_name"',
    ],
    [
      [START, M, `{"type":"end",${TIME},"signal":9,"signal_name":"Killed"}`],
      3,
      'missing key "core_dumped"',
    ],
    [
      [START, M, `{"type":"end",${TIME},"signal":9,"signal_name":"K","core_dumped":0}`],
      3,
      '"core_dumped" is not true or false',
    ],
    [
      [START, M, `{"type":"end",${TIME},"dtee_signal":128,"signal_name":"x"}`],
      3,
      '"dtee_signal" is not an integer from 1 to 127',
    ],
    ...["1x", "-1s", "", 30, null].map((after): [string[], number, string] => [
      [START, M, `{"type":"end",${TIME},"exit_code":0,"timed_out_after":${JSON.stringify(after)}}`],
      3,
      '"timed_out_after" is not a time limit ("30s", "10m", ...)',
    ]),
    [[START, M, `{"type":"start",${TIME}}`], 3, 'missing key "pid"'],
    [
      [START, M, '{"log":"m","stream":"stdout",' + TIME + ',"run":""}'],
      3,
      /^"run" is not a run id/,
    ],
    [
      [START, M, '{"log":"m","stream":"stdout",' + TIME + ',"run":"a b"}'],
      3,
      /^"run" is not a run id/,
    ],
    [
      [START, M, '{"log":"m","stream":"stdout",' + TIME + ',"run":"zz"}'],
      3,
      'message record outside a run (no start record before it of run "zz")',
    ],
    [[START, M, M, M, M, M, M, "x"], 8, /^not valid JSON/],
  ];
  for (const [lines, line, what] of cases) {
    const log = lines.join("\n") + "\n";
    const { message, delivered } = failure(log);
    const prefix = `job.jsonl:${line}: `;
    ok(message.startsWith(prefix), `${message} (expected line ${line})`);
    if (typeof what === "string") equal(message.slice(prefix.length), what);
    else match(message.slice(prefix.length), what);
    // Everything before the bad line was handed over.
    equal(delivered, lines.slice(0, line - 1).filter((l) => l === M).length, message);
  }
});

Deno.test("a truncated last line, an empty log, a line that is not UTF-8", () => {
  deepStrictEqual(failure(`${START}\n${M}\n${END}`), {
    message: "job.jsonl:3: truncated line (no newline at the end of the file)",
    delivered: 1,
  });
  deepStrictEqual(failure(`${START}\n${M}\n${M.slice(0, 20)}`), {
    message: "job.jsonl:3: truncated line (no newline at the end of the file)",
    delivered: 1,
  });
  // Empty lines alone are no log either (they are what a cut record leaves between runs).
  for (const empty of ["", "\n", "\n\n\n"]) {
    deepStrictEqual(failure(empty), {
      message: "job.jsonl:1: empty log (no start record)",
      delivered: 0,
    }, JSON.stringify(empty));
  }
  const bytes = text.encode(`${START}\n${M}\n{"log":"\xff"}\n`);
  bytes[bytes.length - 5] = 0xff;
  deepStrictEqual(failure(lossy.decode(bytes)).delivered, 1);
  const reader = readerOf(bytes, 1 << 16, "job.jsonl");
  reader.nextRun();
  equal(reader.fill(receiver(4)), 1);
  equal(reader.fill(receiver(4)), 0);
  equal(reader.damages[0].message, "job.jsonl:3: not valid UTF-8");
  // In the middle of what one read brought in, with good lines after it: they still come.
  const middle = text.encode(`${START}\n${M}\n${M}\n${M}\n${M}\n${END}\n`);
  middle[text.encode(`${START}\n${M}\n${M}\n{"log":"`).length] = 0xc0;
  const again = readerOf(middle, 1 << 16, "job.jsonl");
  again.nextRun();
  equal(again.fill(receiver(8)), 2);
  equal(again.fill(receiver(8)), 1);
  deepStrictEqual(again.damages.map((e) => e.message), ["job.jsonl:4: not valid UTF-8"]);
  equal(again.fill(receiver(8)), 0);
  deepStrictEqual(again.finish?.end, { kind: "exited", code: 0 });
});

Deno.test("a message longer than a replay slot is an error at its line", () => {
  const big = `{"log":"${"x".repeat(5000)}","stream":"stdout",${TIME}}`;
  deepStrictEqual(failure([START, M, big, END].join("\n") + "\n", 4096), {
    message: "job.jsonl:3: message of 5000 bytes is longer than the 4096 bytes dtee replays",
    delivered: 1,
  });
  const bytes = new Uint8Array(5000).fill(0xff);
  const exact = `{"log":"${"\ufffd".repeat(5000)}","stream":"stdout",${TIME},` +
    `"log_base64":"${bytes.toBase64()}"}`;
  match(
    failure([START, exact, END].join("\n") + "\n", 4096).message,
    /^job.jsonl:2: message of 5000 bytes/,
  );
  // Exactly a slot is fine, in UTF-8 bytes (not UTF-16 units).
  const fits = `{"log":"${"é".repeat(2048)}","stream":"stdout",${TIME}}`;
  const [run] = readAll(readerOf([START, fits, END].join("\n") + "\n"), 2, 4096);
  equal(run.messages[0].bytes.length, 4096);
});

Deno.test("a line longer than MAX_LINE is passed over, not buffered without bound", () => {
  const tail = text.encode(`\n${START}\n${M}\n${END}\n`);
  let served = 0;
  let longest = 0;
  const size = 2 * MAX_LINE + 12345;
  const damages: string[] = [];
  const reader = new LogReader(
    "huge",
    (buf) => {
      longest = Math.max(longest, buf.length);
      const n = Math.min(buf.length, size + tail.length - served);
      for (let i = 0; i < n; i++, served++) buf[i] = served < size ? 0x20 : tail[served - size];
      return n;
    },
    undefined,
    undefined,
    { damaged: (e) => damages.push(e.message) },
  );
  const [run] = readAll(reader);
  deepStrictEqual(damages, [`huge:1: line longer than ${MAX_LINE} bytes`]);
  equal(run.start.line, 2);
  equal(run.messages.length, 1);
  ok(longest <= 2 * MAX_LINE, `read into ${longest} bytes`);
});

Deno.test("read errors carry the errno", () => {
  const reader = new LogReader("x", () => -5);
  throws(() => reader.nextRun(), (e) => e instanceof LogReadError && e.errno === 5);
});

Deno.test("misuse of the reader is a programming error, not a log error", () => {
  const reader = readerOf([START, M, END].join("\n") + "\n");
  throws(() => reader.fill(receiver(1)), (e) => !(e instanceof LogError));
  reader.nextRun();
  throws(() => reader.nextRun(), (e) => !(e instanceof LogError));
  throws(() => reader.fill(receiver(4), 0), (e) => !(e instanceof LogError));
  equal(reader.fill(receiver(4)), 1);
  equal(reader.fill(receiver(4)), 0);
  equal(reader.fill(receiver(4)), 0);
  equal(reader.nextRun(), null);
});

Deno.test("pacing: deadlines count from the run's start, so delivery time does not add up", () => {
  const pacer = new Pacer();
  pacer.startRun(T0, 1000);
  equal(pacer.delay(T0, 1000), 0);
  equal(pacer.delay(T0 + 250_000_000n, 1000), 250);
  // 100 ms spent delivering: the next message waits that much less.
  equal(pacer.delay(T0 + 300_000_000n, 1100), 200);
  // Late already, or recorded before the start (a clock step): no wait.
  equal(pacer.delay(T0 + 300_000_000n, 1400), 0);
  equal(pacer.delay(T0 - 5_000_000_000n, 1000), 0);
  equal(pacer.delay(T0 + 1_500_000n, 1000), 1.5);
  // The next run starts from its own start: the gap between runs is not reproduced.
  pacer.startRun(T0 + 86_400_000_000_000n, 5000);
  equal(pacer.delay(T0 + 86_400_010_000_000n, 5000), 10);
});

// --- the published schema and jq ------------------------------------------------------------

/** A log with every kind of record and the awkward cases of the text. */
function sampleLog(): Uint8Array {
  const random = prng(99);
  const noise = new Uint8Array(3000).map(() => Math.floor(random() * 256));
  return logOf([
    {
      command: ["sh", "-c", "printf x", decodeBytes(new Uint8Array([0xfe, 0x41]))],
      pid: 123,
      end: { kind: "exited", code: 3 },
      messages: [
        msg("plain\n"),
        msg("", 2),
        msg('\0\x01\x1f\x7f"\\\u2028\u2029\u0085é😀\n'),
        msg(noise, 2),
        msg(new Uint8Array([0xed, 0xa0, 0x80])),
      ],
    },
    {
      command: ["a"],
      pid: 1,
      end: { kind: "signaled", signal: 6, coreDumped: true },
      messages: [msg("x")],
    },
    {
      command: ["b"],
      pid: 2,
      end: { kind: "signaled", signal: 9, coreDumped: false },
      messages: [],
    },
    { command: ["c"], pid: 3, end: { kind: "dtee-signaled", signal: 15 }, messages: [msg("y", 2)] },
    {
      command: ["d"],
      pid: 4,
      end: { kind: "timed-out", after: "30m", process: { kind: "exited", code: 0 } },
      messages: [msg("z")],
    },
    {
      command: ["e"],
      pid: 5,
      end: {
        kind: "timed-out",
        after: "1.5s",
        process: { kind: "signaled", signal: 9, coreDumped: false },
      },
      messages: [],
    },
  ]);
}

Deno.test({
  name: "every record dtee writes is valid against docs/jsonlog.schema.json (python3-jsonschema)",
  ignore: !HAS_JSONSCHEMA,
  fn: async () => {
    const log = sampleLog();
    const lines = lossy.decode(log).split("\n").length - 1;
    deepStrictEqual(await validate(log), Array(lines).fill("ok"));
  },
});

Deno.test({
  name: "the schema refuses what dtee never writes",
  ignore: !HAS_JSONSCHEMA,
  fn: async () => {
    const bad = [
      `{"log":"m","stream":"stdout",${TIME},"type":"message"}`,
      '{"log":"m","stream":"stdout","time":"2026-12-01T17:24:23.5Z"}',
      `{"log":"m","stream":"stdin",${TIME}}`,
      `{"log":"m","stream":"stdout",${TIME},"log_base64":"gA"}`,
      `{"log":"\\udc80","stream":"stdout",${TIME}}`,
      `{"log":"m",${TIME}}`,
      `{"type":"start",${TIME},"pid":0,"command":["x"]}`,
      `{"type":"start",${TIME},"pid":1,"command":[]}`,
      `{"type":"start",${TIME},"command":["x"]}`,
      `{"type":"end",${TIME},"exit_code":0,"signal":9}`,
      `{"type":"end",${TIME},"signal":9,"signal_name":"Killed"}`,
      `{"type":"end",${TIME},"exit_code":256}`,
      `{"type":"end",${TIME},"dtee_signal":15}`,
      `{"type":"end",${TIME},"exit_code":0,"timed_out_after":"30"}`,
      `{"type":"end",${TIME},"exit_code":0,"timed_out_after":true}`,
      `{"type":"end",${TIME},"dtee_signal":15,"signal_name":"T","timed_out_after":"1s"}`,
      `{"type":"other",${TIME}}`,
    ];
    const results = await validate(text.encode(bad.map((l) => l + "\n").join("")));
    equal(results.length, bad.length);
    results.forEach((result, i) => ok(result !== "ok", bad[i]));
  },
});

Deno.test({
  name: "jq -c . reads every line; jq sees the text dtee logged",
  ignore: !HAS_JQ,
  fn: async () => {
    const log = sampleLog();
    const jq = async (...args: string[]) => {
      const child = new Deno.Command("jq", { args, stdin: "piped", stdout: "piped" }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(log);
      await writer.close();
      const { code, stdout } = await child.output();
      equal(code, 0);
      return lossy.decode(stdout);
    };
    const parsed = (lines: string) => lines.split("\n").slice(0, -1).map((l) => JSON.parse(l));
    deepStrictEqual(parsed(await jq("-c", ".")), parsed(lossy.decode(log)));
    deepStrictEqual(
      parsed(await jq("-c", 'select(.stream == "stdout" and .log_base64 == null) | .log')),
      ["plain\n", '\0\x01\x1f\x7f"\\\u2028\u2029\u0085é😀\n', "x", "z"],
    );
  },
});
