/**
 * Why lib/jsonlog.ts encodes bytes by hand (docs/jsonlog.md "Encoder"): the same records made
 * with JSON.stringify, against the byte-level encoder, on the workloads of the measurements.
 *
 *   .deno/bin/deno run tests/jsonlog_bench.ts
 *
 * Prints the best of several rounds per workload and encoder, in ns per message and MB/s of
 * message bytes, and checks that both encoders produce the same bytes. Then the cost of
 * reading the log back for replay (lib/replay.ts), for comparison.
 */
import { formatTime, JsonLogEncoder, type MessageBatch } from "../lib/jsonlog.ts";
import { LogReader } from "../lib/replay.ts";
import { prng } from "./helpers.ts";

const SLOTS = 32;
const ROUNDS = 7;

interface Workload {
  name: string;
  messages: Uint8Array[];
}

function printable(random: () => number, count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const m = new Uint8Array(size);
    for (let i = 0; i < size; i++) m[i] = 0x20 + Math.floor(random() * 95);
    return m;
  });
}

/** Log-like lines: tabs, quotes, backslashes, terminal colours, CRLF, accents, CJK, emoji. */
function escapes(random: () => number, count: number): Uint8Array[] {
  const parts = [
    "\t",
    '"quoted"',
    "C:\\path\\file",
    "\x1b[31mred\x1b[0m",
    "\r\n",
    "café",
    "日本語",
    "😀",
    "plain words here ",
    "key=value ",
  ];
  const encoder = new TextEncoder();
  return Array.from({ length: count }, () => {
    let line = "";
    while (line.length < 150) line += parts[Math.floor(random() * parts.length)];
    return encoder.encode(line + "\n");
  });
}

/** Mostly text, one message in ten with bytes that are not UTF-8. */
function invalid(random: () => number, count: number): Uint8Array[] {
  return printable(random, count, 200).map((m, i) => {
    if (i % 10 === 0) m[Math.floor(random() * m.length)] = 0x80 + Math.floor(random() * 128);
    return m;
  });
}

/** The messages in batches of SLOTS, as the receive loop hands them over. */
function batches(messages: Uint8Array[]): MessageBatch[] {
  const slotSize = Math.max(...messages.map((m) => m.length));
  const out: MessageBatch[] = [];
  for (let first = 0; first < messages.length; first += SLOTS) {
    const group = messages.slice(first, first + SLOTS);
    const batch = {
      data: new Uint8Array(slotSize * group.length),
      slotSize,
      lens: new Uint32Array(group.length),
      streams: new Uint8Array(group.length),
      times: new BigInt64Array(group.length),
    };
    group.forEach((m, i) => {
      batch.data.set(m, i * slotSize);
      batch.lens[i] = m.length;
      batch.streams[i] = (first + i) % 3 === 0 ? 2 : 1;
      batch.times[i] = 1_796_145_863_000_000_000n + BigInt((first + i) * 7919);
    });
    out.push(batch);
  }
  return out;
}

/** The same records made the obvious way: decode, build an object, JSON.stringify, encode. */
class StringifyEncoder {
  #buf = new Uint8Array(1 << 16);
  #fatal = new TextDecoder("utf-8", { fatal: true });
  #lossy = new TextDecoder();
  #encoder = new TextEncoder();
  #second = -1n;
  #date = "";

  messages(batch: MessageBatch, from: number, to: number): Uint8Array {
    let text = "";
    for (let i = from; i < to; i++) {
      const start = i * batch.slotSize;
      const bytes = batch.data.subarray(start, start + batch.lens[i]);
      let log: string;
      let base64: string | undefined;
      try {
        log = this.#fatal.decode(bytes);
      } catch {
        log = this.#lossy.decode(bytes);
        base64 = bytes.toBase64();
      }
      const record: Record<string, string> = {
        log,
        stream: batch.streams[i] === 1 ? "stdout" : "stderr",
        time: this.#time(batch.times[i]),
        run: RUN,
      };
      if (base64 !== undefined) record.log_base64 = base64;
      text += JSON.stringify(record).replace(/[\u0085\u2028\u2029]/g, unicodeEscape) + "\n";
    }
    if (this.#buf.length < 3 * text.length) this.#buf = new Uint8Array(3 * text.length);
    return this.#buf.subarray(0, this.#encoder.encodeInto(text, this.#buf).written);
  }

  /** formatTime, with the date part cached per second as the byte encoder does. */
  #time(ns: bigint): string {
    const second = ns / 1_000_000_000n;
    if (second !== this.#second) {
      this.#second = second;
      this.#date = formatTime(second * 1_000_000_000n).slice(0, 20);
    }
    return this.#date + (ns % 1_000_000_000n).toString().padStart(9, "0") + "Z";
  }
}

/** The run id both encoders' records carry. */
const RUN = "0123456789abcdef";

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

function measure(
  encoder: { messages(b: MessageBatch, from: number, to: number): Uint8Array },
  work: MessageBatch[],
): { ns: number; bytes: number } {
  let best = Infinity;
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    bytes = 0;
    const t0 = performance.now();
    for (const b of work) bytes += encoder.messages(b, 0, b.lens.length).length;
    best = Math.min(best, performance.now() - t0);
  }
  return { ns: best * 1e6, bytes };
}

function row(workload: string, what: string, nsPerMessage: number, extra: string): void {
  const ns = `${nsPerMessage.toFixed(0)} ns/msg`;
  console.log(`${workload.padEnd(36)} ${what.padEnd(15)} ${ns.padStart(16)} ${extra}`);
}

const random = prng(20261201);
const workloads: Workload[] = [
  { name: "100000 x 200 B printable", messages: printable(random, 100_000, 200) },
  { name: "100000 log lines with escapes", messages: escapes(random, 100_000) },
  { name: "100000 x 200 B, 10% invalid UTF-8", messages: invalid(random, 100_000) },
  { name: "64 x 1 MiB printable", messages: printable(random, 64, 1 << 20) },
];

for (const { name, messages } of workloads) {
  const work = batches(messages);
  const input = messages.reduce((n, m) => n + m.length, 0);
  const byHand = new JsonLogEncoder();
  byHand.start(0n, 1, ["bench"], RUN);
  const stringify = new StringifyEncoder();
  for (const b of work) {
    const a = byHand.messages(b, 0, b.lens.length).slice();
    const s = stringify.messages(b, 0, b.lens.length);
    if (a.length !== s.length || !a.every((x, i) => x === s[i])) {
      throw new Error(`${name}: the encoders disagree`);
    }
  }
  const log: Uint8Array[] = [];
  for (const b of work) log.push(byHand.messages(b, 0, b.lens.length).slice());
  log.unshift(byHand.start(0n, 1, ["bench"], RUN).slice());
  log.push(byHand.end(0n, { kind: "exited", code: 0 }).slice());
  for (const [label, encoder] of [["byte-level", byHand], ["JSON.stringify", stringify]] as const) {
    const { ns, bytes } = measure(encoder, work);
    const rate = `${(input / ns * 1e3).toFixed(0)} MB/s in`;
    row(
      name,
      label,
      ns / messages.length,
      `${rate.padStart(12)}  (${(bytes / 1e6).toFixed(1)} MB out)`,
    );
  }
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    let part = 0;
    let offset = 0;
    const reader = new LogReader("bench", (buf) => {
      while (part < log.length && offset === log[part].length) {
        part++;
        offset = 0;
      }
      if (part === log.length) return 0;
      const n = Math.min(buf.length, log[part].length - offset);
      buf.set(log[part].subarray(offset, offset + n));
      offset += n;
      return n;
    });
    const into = { ...work[0], data: new Uint8Array(work[0].data.length) };
    const t0 = performance.now();
    let count = 0;
    reader.nextRun();
    for (let n = reader.fill(into); n > 0; n = reader.fill(into)) count += n;
    best = Math.min(best, performance.now() - t0);
    if (count !== messages.length) throw new Error(`${name}: read back ${count} messages`);
  }
  row(name, "read back", best * 1e6 / messages.length, "");
}
