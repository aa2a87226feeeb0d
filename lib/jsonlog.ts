/**
 * Records of the ordered JSON Lines log (docs/behaviour.md B3; every key is described in
 * docs/jsonlog.md, the shape in docs/jsonlog.schema.json).
 *
 * The encoder writes bytes, not strings: a whole batch's records go into one reused buffer,
 * ready for one write(2) per log file, and the message bytes are escaped, checked as UTF-8
 * and copied in a single pass (docs/jsonlog.md "Encoder" has the measurements behind this
 * choice).
 */

import { Stream } from "./abi.ts";
import { encode } from "./text.ts";
import { type RecordedEnd, withoutTimeOut } from "./run_end.ts";
import { NS_PER_S, secondOf } from "./clock.ts";

/** A received batch as the input side fills it: message i is `data[i * slotSize ..][..lens[i]]`. */
export interface MessageBatch {
  readonly data: Uint8Array;
  readonly slotSize: number;
  readonly lens: Uint32Array;
  /** 1 stdout, 2 stderr; any other value is a foreign sender, left out of the log. */
  readonly streams: Uint8Array;
  /** When the kernel queued each message, in ns since the epoch. */
  readonly times: BigInt64Array;
}

const { stdout: STDOUT, stderr: STDERR } = Stream;

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

const MESSAGE_START = ascii('{"log":"');
const STREAM_STDOUT = ascii('","stream":"stdout","time":"');
const STREAM_STDERR = ascii('","stream":"stderr","time":"');
const LOG_BASE64 = ascii(',"log_base64":"');

/** Room one message's record may need beyond its text: keys, time, run id, brackets, newline. */
const RECORD_OVERHEAD = 192;

/**
 * A new run id (docs/jsonlog.md "Runs and records"): 16 random hex digits, so that runs
 * appended to one log by overlapping dtee processes, even in other pid namespaces, come apart.
 */
export function newRunId(): string {
  return crypto.getRandomValues(new Uint8Array(8)).toHex();
}

// What each byte needs inside a JSON string. 0: itself. 1: a backslash escape (ESCAPE[b]).
// 2: non-ASCII, checked as UTF-8 first.
const CLASS = new Uint8Array(256);
const ESCAPE: string[] = [];
for (let b = 0; b < 0x20; b++) {
  CLASS[b] = 1;
  ESCAPE[b] = `\\u${b.toString(16).padStart(4, "0")}`;
}
// The short forms are the ones JSON.stringify uses, so valid text encodes exactly as it does.
const SHORT: Record<number, string> = {
  8: "b",
  9: "t",
  10: "n",
  12: "f",
  13: "r",
  0x22: '"',
  0x5c: "\\",
};
for (const [b, e] of Object.entries(SHORT)) {
  CLASS[+b] = 1;
  ESCAPE[+b] = `\\${e}`;
}
for (let b = 0x80; b < 0x100; b++) CLASS[b] = 2;
const ESCAPE_BYTES = ESCAPE.map((e) => (e === undefined ? undefined : ascii(e)));

/**
 * Valid, but escaped anyway: readers that split lines on Unicode line breaks (Python's
 * str.splitlines(), JavaScript source) would otherwise cut a record in two.
 */
const NEL = ascii("\\u0085");
const LINE_SEPARATOR = ascii("\\u2028");
const PARAGRAPH_SEPARATOR = ascii("\\u2029");

/** RFC 3339 in UTC with exactly 9 fractional digits: `2026-12-01T17:24:23.123456789Z`. */
export function formatTime(ns: bigint): string {
  const seconds = secondOf(ns);
  const fraction = ns - seconds * NS_PER_S;
  const date = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${date}.${fraction.toString().padStart(9, "0")}Z`;
}

/**
 * Encodes records into one growing buffer that is reused from call to call. Every method
 * returns a view of that buffer: valid until the next call.
 */
export class JsonLogEncoder {
  #buf: Uint8Array;
  #pos = 0;
  /** The second whose `YYYY-MM-DDTHH:MM:SS.` is cached in #date: most messages share it. */
  #second = 0n;
  #date = ascii("1970-01-01T00:00:00.");
  /** `,"run":"ID"` of the run `start` began: every record of the run carries it. */
  #run = ascii(',"run":""');
  #id = "";

  constructor(initialSize = 1 << 16) {
    this.#buf = new Uint8Array(initialSize);
  }

  /** The records of messages from..to of `batch` (foreign senders left out). */
  messages(batch: MessageBatch, from: number, to: number): Uint8Array {
    const { data, slotSize, lens, streams, times } = batch;
    this.#pos = 0;
    for (let i = from; i < to; i++) {
      const stream = streams[i];
      if (stream !== STDOUT && stream !== STDERR) continue;
      const start = i * slotSize;
      const end = start + lens[i];
      this.#reserve(6 * (end - start) + 4 * Math.ceil((end - start) / 3) + RECORD_OVERHEAD);
      this.#raw(MESSAGE_START);
      const valid = this.#text(data, start, end);
      this.#raw(stream === STDOUT ? STREAM_STDOUT : STREAM_STDERR);
      this.#time(times[i]);
      this.#buf[this.#pos++] = 0x22;
      this.#raw(this.#run);
      if (!valid) {
        this.#raw(LOG_BASE64);
        this.#ascii(data.subarray(start, end).toBase64());
        this.#buf[this.#pos++] = 0x22;
      }
      this.#buf[this.#pos++] = 0x7d;
      this.#buf[this.#pos++] = 0x0a;
    }
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * The start record. `command`: the words as given, in the project's text form for bytes
   * that are not UTF-8 (lib/text.ts `decodeBytes`), which come out as U+FFFD in `command`
   * and exactly in `command_base64`.
   */
  start(timeNs: bigint, pid: number, command: readonly string[], id: string): Uint8Array {
    this.#id = id;
    this.#run = ascii(`,"run":"${id}"`);
    const words = command.map((word) => encode(word));
    const size = words.reduce((n, w) => n + 6 * w.length + 4 * Math.ceil(w.length / 3) + 8, 0);
    this.#pos = 0;
    this.#reserve(size + RECORD_OVERHEAD);
    this.#head("start");
    this.#time(timeNs);
    this.#ascii(`","pid":${pid},"command":[`);
    let valid = true;
    words.forEach((word, i) => {
      if (i > 0) this.#ascii(",");
      this.#ascii('"');
      valid = this.#text(word, 0, word.length) && valid;
      this.#ascii('"');
    });
    this.#ascii("]");
    if (!valid) {
      this.#ascii(`,"command_base64":[${words.map((w) => `"${w.toBase64()}"`).join(",")}]`);
    }
    this.#ascii("}\n");
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * The final record. `signalName`: the strsignal(3) text of the signal, when the run ended
   * by one (the caller has the C library's texts; docs/behaviour.md A6).
   */
  end(timeNs: bigint, ended: RecordedEnd, signalName = ""): Uint8Array {
    const name = encode(signalName);
    // A time-out is said after how the command then ended (docs/jsonlog.md).
    const end = withoutTimeOut(ended);
    const after = ended.kind === "timed-out" ? `,"timed_out_after":"${ended.after}"` : "";
    this.#pos = 0;
    this.#reserve(6 * name.length + after.length + RECORD_OVERHEAD);
    this.#head("end");
    this.#time(timeNs);
    if (end.kind === "exited") {
      this.#ascii(`","exit_code":${end.code}${after}}\n`);
      return this.#buf.subarray(0, this.#pos);
    }
    const key = end.kind === "signaled" ? "signal" : "dtee_signal";
    this.#ascii(`","${key}":${end.signal},"signal_name":"`);
    this.#text(name, 0, name.length);
    this.#ascii('"');
    if (end.kind === "signaled") this.#ascii(`,"core_dumped":${end.coreDumped}`);
    this.#ascii(`${after}}\n`);
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * A diagnostic record: dtee's own message `text` (what follows `NAME: `), a failure of
   * kind `failure` (docs/jsonlog.md), during the run `start` began.
   */
  diagnostic(timeNs: bigint, failure: string, text: string): Uint8Array {
    const bytes = encode(text);
    this.#pos = 0;
    this.#reserve(6 * bytes.length + failure.length + RECORD_OVERHEAD);
    this.#head("diagnostic");
    this.#time(timeNs);
    this.#ascii(`","failure":"${failure}","text":"`);
    this.#text(bytes, 0, bytes.length);
    this.#ascii('"}\n');
    return this.#buf.subarray(0, this.#pos);
  }

  /** `{"type":"TYPE","run":"ID","time":"`: the keys every record but a message's begins with. */
  #head(type: string): void {
    this.#ascii(`{"type":"${type}","run":"${this.#id}","time":"`);
  }

  /** Makes room for `size` more bytes, keeping what is already encoded. */
  #reserve(size: number): void {
    if (this.#pos + size <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(2 * this.#buf.length, this.#pos + size));
    bigger.set(this.#buf.subarray(0, this.#pos));
    this.#buf = bigger;
  }

  #raw(bytes: Uint8Array): void {
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** ASCII-only text (keys, numbers, base64), already reserved for. */
  #ascii(text: string): void {
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
    this.#pos = pos;
  }

  /**
   * `src[start..end]` as the inside of a JSON string. Bytes that are not UTF-8 become
   * U+FFFD the way the WHATWG decoder (TextDecoder) replaces them: one per maximal invalid
   * subpart. Returns whether every byte was valid. Needs 6 bytes of room per input byte.
   */
  #text(src: Uint8Array, start: number, end: number): boolean {
    const buf = this.#buf;
    let pos = this.#pos;
    let valid = true;
    for (let i = start; i < end;) {
      const b = src[i];
      const kind = CLASS[b];
      if (kind === 0) {
        let j = i + 1;
        while (j < end && CLASS[src[j]] === 0) j++;
        // Below this a subarray costs more than copying byte by byte (tests/jsonlog_bench.ts).
        if (j - i > 32) {
          buf.set(src.subarray(i, j), pos);
          pos += j - i;
        } else {
          for (let k = i; k < j; k++) buf[pos++] = src[k];
        }
        i = j;
        continue;
      }
      if (kind === 1) {
        const e = ESCAPE_BYTES[b]!;
        for (let k = 0; k < e.length; k++) buf[pos++] = e[k];
        i++;
        continue;
      }
      // UTF-8 sequences (WHATWG Encoding "UTF-8 decoder"): how many continuation bytes
      // follow the lead byte, and the range of the first one.
      let need = 0;
      let lo = 0x80;
      let hi = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) need = 2;
      else if (b >= 0xf0 && b <= 0xf4) need = 3;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
      else if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
      let j = i + 1;
      let got = 0;
      while (got < need && j < end && src[j] >= lo && src[j] <= hi) {
        j++;
        got++;
        lo = 0x80;
        hi = 0xbf;
      }
      if (need > 0 && got === need) {
        let escape: Uint8Array | undefined;
        if (b === 0xc2 && src[i + 1] === 0x85) escape = NEL;
        else if (b === 0xe2 && src[i + 1] === 0x80) {
          if (src[i + 2] === 0xa8) escape = LINE_SEPARATOR;
          else if (src[i + 2] === 0xa9) escape = PARAGRAPH_SEPARATOR;
        }
        if (escape) {
          for (let k = 0; k < escape.length; k++) buf[pos++] = escape[k];
        } else {
          for (let k = i; k < j; k++) buf[pos++] = src[k];
        }
      } else {
        // The invalid subpart ends before the byte that broke the sequence: that byte
        // starts afresh (or ends the input).
        buf[pos++] = 0xef;
        buf[pos++] = 0xbf;
        buf[pos++] = 0xbd;
        valid = false;
      }
      i = j;
    }
    this.#pos = pos;
    return valid;
  }

  /** The 29 characters of `formatTime(ns)`, without the quotes around them. */
  #time(ns: bigint): void {
    let fraction = ns - this.#second;
    if (fraction < 0n || fraction >= NS_PER_S) {
      this.#cacheSecond(secondOf(ns) * NS_PER_S);
      fraction = ns - this.#second;
    }
    this.#raw(this.#date);
    const buf = this.#buf;
    let f = Number(fraction);
    for (let k = this.#pos + 8; k >= this.#pos; k--) {
      buf[k] = 0x30 + (f % 10);
      f = Math.floor(f / 10);
    }
    this.#pos += 9;
    buf[this.#pos++] = 0x5a;
  }

  #cacheSecond(secondNs: bigint): void {
    this.#second = secondNs;
    const seconds = Number(secondNs / NS_PER_S);
    this.#date = ascii(new Date(seconds * 1000).toISOString().slice(0, 19) + ".");
  }
}
