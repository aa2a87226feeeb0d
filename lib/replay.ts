/**
 * Reading a JSON Lines log back for exact replay (docs/behaviour.md B4; the records in
 * docs/jsonlog.md).
 *
 * Incremental and synchronous, like the live loop: records are read and checked one line at a
 * time, and a bad line is reported only once everything before it has been handed over, so
 * that the caller can deliver all of that first (docs/behaviour.md B4: exit 65 after
 * everything before the bad record was delivered).
 */

import { Stream } from "./abi.ts";
import { decodeBytes } from "./text.ts";
import type { MessageBatch } from "./jsonlog.ts";
import { parseDuration } from "./duration.ts";
import type { CommandEnd, ProcessEnd, RecordedEnd } from "./run_end.ts";

/** A start record. */
export interface RunStart {
  /** ns since the epoch */
  timeNs: bigint;
  pid: number;
  /** The command words as given, in lib/text.ts `decodeBytes` form (exact bytes). */
  command: string[];
  /** Its line number in the log. */
  line: number;
}

/** A final record. */
export interface RunFinish {
  timeNs: bigint;
  end: RecordedEnd;
  line: number;
}

/** A record that is not valid: `message` is `FILE:LINE: <what is wrong>`. */
export class LogError extends Error {
  constructor(readonly file: string, readonly line: number, readonly what: string) {
    super(`${file}:${line}: ${what}`);
    this.name = "LogError";
  }
}

/** The log could not be read: the caller reports strerror(errno). */
export class LogReadError extends Error {
  constructor(readonly errno: number) {
    super(`read failed: errno ${errno}`);
    this.name = "LogReadError";
  }
}

/** Fills `buf` from the log: bytes read, 0 at the end, or -errno (the shim's convention). */
export type ReadFn = (buf: Uint8Array) => number;

/** Longer lines are refused rather than buffered without bound. */
export const MAX_LINE = 64 << 20;

const STREAMS: Record<string, number> = { stdout: Stream.stdout, stderr: Stream.stderr };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const NS_PER_S = 1_000_000_000n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();
const encoder = new TextEncoder();

type Json = Record<string, unknown>;

/** Parses `text` as the RFC 3339 time of a record: ns since the epoch, or what is wrong. */
export function parseTime(text: string): bigint | string {
  // Most records share their second with the one before: only the 9 digits are new.
  if (text.length === 30 && text.charCodeAt(29) === 0x5a && text.startsWith(cachedSecond)) {
    let fraction = 0;
    let i = 20;
    for (let c = text.charCodeAt(i); i < 29 && c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) {
      fraction = fraction * 10 + c - 0x30;
    }
    const ns = cachedSecondNs + BigInt(fraction);
    if (i === 29 && ns >= INT64_MIN && ns <= INT64_MAX) return ns;
  }
  const ns = parseAnyTime(text);
  if (typeof ns === "bigint" && text.length === 30 && text[19] === "." && text[29] === "Z") {
    cachedSecond = text.slice(0, 20);
    cachedSecondNs = ns - BigInt(text.slice(20, 29));
  }
  return ns;
}

/** `YYYY-MM-DDTHH:MM:SS.` of the last time in dtee's own form, and that second in ns. */
let cachedSecond = "-";
let cachedSecondNs = 0n;

function parseAnyTime(text: string): bigint | string {
  const m = TIME.exec(text);
  if (!m) return `bad time ${JSON.stringify(text)} (not RFC 3339)`;
  const [, year, month, day, hour, minute, second, fraction = "", sign, offH, offM] = m;
  const outside = `bad time ${JSON.stringify(text)} (outside the years 1677 to 2262)`;
  // Also keeps Date.UTC away from years 0-99, which it would take as 1900-1999.
  if (+year < 1677 || +year > 2262) return outside;
  const ms = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second);
  const date = new Date(ms);
  // Date.UTC rolls Feb 30 over into March; a real date survives the round trip.
  const real = date.getUTCFullYear() === +year && date.getUTCMonth() === +month - 1 &&
    date.getUTCDate() === +day && +hour < 24 && +minute < 60 && +second < 60 &&
    (sign === undefined || (+offH < 24 && +offM < 60));
  if (!real) return `bad time ${JSON.stringify(text)} (no such date or time)`;
  const offset = sign === undefined ? 0 : (sign === "+" ? 1 : -1) * (+offH * 3600 + +offM * 60);
  const ns = BigInt(ms / 1000 - offset) * NS_PER_S + BigInt(fraction.padEnd(9, "0"));
  return ns < INT64_MIN || ns > INT64_MAX ? outside : ns;
}

/** Strict base64 (padded, no whitespace): the bytes, or undefined. */
function fromBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  try {
    // "strict" also refuses non-zero bits in the padding: one text per byte string.
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

/**
 * Reads a log's runs in turn: `nextRun()` gives a run's start record, `fill()` its messages
 * batch by batch until it returns 0, then `finish` is its final record.
 *
 * Throws LogError for a record that is not valid (at the first call that reaches it, after
 * every message before it was returned) and LogReadError when reading fails.
 */
export class LogReader {
  #buf = new Uint8Array(1 << 16);
  #lineStart = 0;
  #end = 0;
  /** Where the search for the next newline goes on: bytes before it have none. */
  #scan = 0;
  /** Lines decoded but not yet handed out (undefined: a line that is not UTF-8). */
  #ahead: (string | undefined)[] = [];
  #aheadAt = 0;
  #eof = false;
  #line = 0;
  #run: RunStart | undefined;
  #finish: RunFinish | undefined;
  /**
   * The first bad record found: thrown by every later call, also when it was found while
   * filling a batch that already held messages (that batch is returned first).
   */
  #pending: LogError | undefined;

  constructor(
    readonly file: string,
    readonly read: ReadFn,
    readonly close: () => void = () => {},
  ) {}

  /** The final record of the run that `fill` has finished, else undefined. */
  get finish(): RunFinish | undefined {
    return this.#finish;
  }

  /** The next run's start record, or null at the end of the log. */
  nextRun(): RunStart | null {
    this.#throwPending();
    if (this.#run && !this.#finish) throw new Error("nextRun() before the run's final record");
    this.#run = undefined;
    this.#finish = undefined;
    const record = this.#record();
    if (record === null) {
      if (this.#line === 0) throw this.#error("empty log (no start record)", 1);
      return null;
    }
    const type = record.type;
    if (type === undefined) {
      throw this.#error("message record outside a run (no start record before it)");
    }
    if (type === "end") throw this.#error("final record outside a run (no start record before it)");
    this.#run = this.#startRecord(record);
    return this.#run;
  }

  /**
   * Puts the current run's next messages into batch slots 0.. (at most `max`, default every
   * slot): their bytes, lengths, streams (1 stdout, 2 stderr) and times. Returns how many;
   * 0 once the run's final record has been read (then see `finish`).
   */
  fill(batch: MessageBatch, max = batch.lens.length): number {
    this.#throwPending();
    if (!this.#run) throw new Error("fill() before nextRun()");
    if (this.#finish) return 0;
    const limit = Math.min(max, batch.lens.length);
    // 0 means the run is over: a call that may take nothing would be mistaken for that.
    if (limit < 1) throw new Error("fill() with no slot to fill");
    let count = 0;
    try {
      while (count < limit) {
        const record = this.#record();
        if (record === null) {
          throw this.#error(
            `end of file inside the run started at line ${this.#run.line} (no final record)`,
            this.#line + 1,
          );
        }
        const type = record.type;
        if (type === undefined) {
          this.#message(record, batch, count);
          count++;
          continue;
        }
        if (type === "start") {
          throw this.#error(
            `start record inside the run started at line ${this.#run.line} (that run has no final record)`,
          );
        }
        this.#finish = this.#final(record);
        break;
      }
    } catch (error) {
      if (!(error instanceof LogError) || count === 0) throw error;
    }
    return count;
  }

  #throwPending(): void {
    if (this.#pending) throw this.#pending;
  }

  #error(what: string, line = this.#line): LogError {
    this.#pending = new LogError(this.file, line, what);
    return this.#pending;
  }

  /** The next record as a JSON object with a known `type` (absent: a message), or null at the end. */
  #record(): Json | null {
    const text = this.#nextLine();
    if (text === null) return null;
    if (text === undefined) throw this.#error("not valid UTF-8");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.#error(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw this.#error("not a JSON object");
    }
    const record = value as Json;
    const type = record.type;
    if (type !== undefined && type !== "start" && type !== "end") {
      throw this.#error(`unknown record type ${JSON.stringify(type)}`);
    }
    return record;
  }

  /** The next line without its newline (undefined: not UTF-8), or null at the end of the log. */
  #nextLine(): string | undefined | null {
    if (this.#aheadAt === this.#ahead.length && !this.#decodeAhead()) return null;
    this.#line++;
    return this.#ahead[this.#aheadAt++];
  }

  /**
   * Decodes every complete line in the buffer at once, reading more first if there is none:
   * one decoder call per buffer instead of one per line (the decoder's fixed cost is larger
   * than a short line's). False at the end of the log.
   */
  #decodeAhead(): boolean {
    let last: number;
    for (;;) {
      last = this.#buf.subarray(this.#scan, this.#end).lastIndexOf(0x0a);
      if (last >= 0) break;
      this.#scan = this.#end;
      if (this.#eof) {
        if (this.#lineStart === this.#end) return false;
        throw this.#error("truncated line (no newline at the end of the file)", this.#line + 1);
      }
      if (this.#end - this.#lineStart >= MAX_LINE) {
        throw this.#error(`line longer than ${MAX_LINE} bytes`, this.#line + 1);
      }
      this.#room();
      const n = this.read(this.#buf.subarray(this.#end));
      if (n < 0) throw new LogReadError(-n);
      if (n === 0) this.#eof = true;
      this.#end += n;
    }
    const end = this.#scan + last;
    const lines = this.#buf.subarray(this.#lineStart, end);
    this.#aheadAt = 0;
    try {
      // No byte of a multi-byte UTF-8 sequence is 0x0a: the text splits where the bytes do.
      this.#ahead = strict.decode(lines).split("\n");
    } catch {
      // Which line is not UTF-8 is told when it is reached.
      this.#ahead = [];
      for (let from = 0; from <= lines.length;) {
        let to = lines.indexOf(0x0a, from);
        if (to < 0) to = lines.length;
        try {
          this.#ahead.push(strict.decode(lines.subarray(from, to)));
        } catch {
          this.#ahead.push(undefined);
        }
        from = to + 1;
      }
    }
    this.#lineStart = this.#scan = end + 1;
    return true;
  }

  /** Makes room after #end: moves the unread part to the front, or grows the buffer. */
  #room(): void {
    if (this.#lineStart > 0) {
      this.#buf.copyWithin(0, this.#lineStart, this.#end);
      this.#end -= this.#lineStart;
      this.#scan -= this.#lineStart;
      this.#lineStart = 0;
    }
    if (this.#end < this.#buf.length) return;
    const bigger = new Uint8Array(2 * this.#buf.length);
    bigger.set(this.#buf.subarray(0, this.#end));
    this.#buf = bigger;
  }

  #time(record: Json): bigint {
    const time = record.time;
    if (time === undefined) throw this.#error('missing key "time"');
    if (typeof time !== "string") throw this.#error('"time" is not a string');
    const ns = parseTime(time);
    if (typeof ns === "string") throw this.#error(ns);
    return ns;
  }

  #string(record: Json, key: string): string {
    const value = record[key];
    if (value === undefined) throw this.#error(`missing key "${key}"`);
    if (typeof value !== "string") throw this.#error(`"${key}" is not a string`);
    return value;
  }

  /** A message record's exact bytes into slot `slot`. */
  #message(record: Json, batch: MessageBatch, slot: number): void {
    const log = this.#string(record, "log");
    const streamName = this.#string(record, "stream");
    const stream = STREAMS[streamName];
    if (stream === undefined) throw this.#error(`unknown stream ${JSON.stringify(streamName)}`);
    const time = this.#time(record);
    const room = batch.data.subarray(slot * batch.slotSize, (slot + 1) * batch.slotSize);
    let length: number;
    if (record.log_base64 !== undefined) {
      const base64 = record.log_base64;
      const bytes = typeof base64 === "string" ? fromBase64(base64) : undefined;
      if (!bytes) throw this.#error('"log_base64" is not valid base64');
      if (lossy.decode(bytes) !== log) throw this.#error('"log" does not match "log_base64"');
      if (bytes.length > room.length) throw this.#tooLong(bytes.length, room.length);
      room.set(bytes);
      length = bytes.length;
    } else {
      // A lone surrogate has no UTF-8: TextEncoder would silently make it U+FFFD.
      if (!log.isWellFormed()) throw this.#error('"log" holds a lone surrogate (not Unicode text)');
      const { read, written } = encoder.encodeInto(log, room);
      if (read < log.length) throw this.#tooLong(encoder.encode(log).length, room.length);
      length = written;
    }
    batch.lens[slot] = length;
    batch.streams[slot] = stream;
    batch.times[slot] = time;
  }

  #tooLong(length: number, room: number): LogError {
    return this.#error(`message of ${length} bytes is longer than the ${room} bytes dtee replays`);
  }

  #startRecord(record: Json): RunStart {
    const timeNs = this.#time(record);
    const pid = record.pid;
    if (pid === undefined) throw this.#error('missing key "pid"');
    if (!Number.isSafeInteger(pid) || (pid as number) < 1) {
      throw this.#error('"pid" is not a positive integer');
    }
    const words = record.command;
    if (words === undefined) throw this.#error('missing key "command"');
    if (
      !Array.isArray(words) || words.length === 0 ||
      !words.every((w) => typeof w === "string" && w.isWellFormed())
    ) {
      throw this.#error('"command" is not a non-empty array of strings');
    }
    let command = words as string[];
    const exact = record.command_base64;
    if (exact !== undefined) {
      if (!Array.isArray(exact) || exact.length !== words.length) {
        throw this.#error('"command_base64" is not an array as long as "command"');
      }
      command = exact.map((text, i) => {
        const bytes = typeof text === "string" ? fromBase64(text) : undefined;
        if (!bytes) throw this.#error(`"command_base64"[${i}] is not valid base64`);
        if (lossy.decode(bytes) !== words[i]) {
          throw this.#error(`"command"[${i}] does not match "command_base64"[${i}]`);
        }
        return decodeBytes(bytes);
      });
    }
    return { timeNs, pid: pid as number, command, line: this.#line };
  }

  #final(record: Json): RunFinish {
    const timeNs = this.#time(record);
    const line = this.#line;
    const given = ["exit_code", "signal", "dtee_signal"].filter((k) => record[k] !== undefined);
    if (given.length !== 1) {
      throw this.#error(
        `final record needs exactly one of "exit_code", "signal" and "dtee_signal" (${
          given.length === 0 ? "none" : given.map((k) => `"${k}"`).join(" and ")
        } given)`,
      );
    }
    const [key] = given;
    const value = record[key];
    if (key === "exit_code") {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
        throw this.#error('"exit_code" is not an integer from 0 to 255');
      }
      return {
        timeNs,
        line,
        end: this.#timedOut(record, { kind: "exited", code: value as number }),
      };
    }
    // 128+N must still be an exit status.
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 127) {
      throw this.#error(`"${key}" is not an integer from 1 to 127`);
    }
    const signal = value as number;
    const signalName = this.#string(record, "signal_name");
    if (key === "dtee_signal") {
      return { timeNs, line, end: { kind: "dtee-signaled", signal, signalName } };
    }
    const coreDumped = record.core_dumped;
    if (coreDumped === undefined) throw this.#error('missing key "core_dumped"');
    if (typeof coreDumped !== "boolean") throw this.#error('"core_dumped" is not true or false');
    const end = this.#timedOut(record, { kind: "signaled", signal, signalName, coreDumped });
    return { timeNs, line, end };
  }

  /** How the command ended, after its time limit passed when the record says so (`timed_out_after`). */
  #timedOut(record: Json, process: ProcessEnd): CommandEnd {
    const after = record.timed_out_after;
    if (after === undefined) return process;
    const limit = typeof after === "string" ? parseDuration(after) : undefined;
    if (!limit) throw this.#error('"timed_out_after" is not a time limit ("30s", "10m", ...)');
    return { kind: "timed-out", after: limit.text, process };
  }
}

/**
 * Replay pacing (docs/jsonlog.md "Replay"): how long to wait before each message so that it
 * comes out as long after its run's start as it was recorded. Deadlines are counted from the
 * run's start, not from the previous message, so the time spent delivering does not add up;
 * the gap between two runs of an appended log is not reproduced (it is the time between two
 * invocations, not part of either).
 */
export class Pacer {
  #recorded = 0n;
  #now = 0;

  /** A run begins: its start record's time and the current time in ms (a monotonic clock). */
  startRun(recordedNs: bigint, nowMs: number): void {
    this.#recorded = recordedNs;
    this.#now = nowMs;
  }

  /** ms to wait before delivering what was recorded at `recordedNs` (0 when it is due). */
  delay(recordedNs: bigint, nowMs: number): number {
    const due = this.#now + Number(recordedNs - this.#recorded) / 1e6;
    return Math.max(0, due - nowMs);
  }
}
