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
import { NS_PER_S } from "./clock.ts";

/** A start record. */
export interface RunStart {
  /** ns since the epoch */
  timeNs: bigint;
  pid: number;
  /** The command words as given, in lib/text.ts `decodeBytes` form (exact bytes). */
  command: string[];
  /** Its line number in the log. */
  line: number;
  /** The run id its records carry (docs/jsonlog.md); "" for a log of an older dtee. */
  id: string;
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
/**
 * A character outside the base64 alphabet. A pattern of the whole text (groups of 4 with
 * padding) backtracks once per group: megabytes of base64 overflow V8's regexp stack.
 */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;
const TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
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
  if (text.length % 4 !== 0 || NOT_BASE64.test(text)) return undefined;
  try {
    // "strict" refuses padding anywhere but at the end and non-zero bits in it: one text
    // per byte string.
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

/** One line of the log: its text (undefined: not UTF-8), number, and whether it is read for the first time. */
interface Line {
  text: string | undefined;
  no: number;
  fresh: boolean;
}

/** What the reader knows of a run it has seen the start record of. */
interface RunState {
  start: RunStart;
  /** Where its start record begins in the file (seekable logs). */
  offset: number;
  /** Its final record has been read, or it was found to have none. */
  done: boolean;
  /** A run without a `run` key (an older dtee's) ends at the next such start record: its line. */
  cutAt?: number;
  /** A log read from a pipe: its records read while another run was being replayed. */
  saved: Line[];
}

/** The run of records without a `run` key (written by an older dtee): one after the other. */
const LEGACY = "";
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A line that is damaged: what is wrong with it (LogError adds the file and line). */
class Damage extends Error {}

const damage = (what: string) => new Damage(what);

/** dtee's own message, recorded during a run (a `diagnostic` record). */
export interface RecordedDiagnostic {
  timeNs: bigint;
  /** The kind of failure (docs/jsonlog.md): `write`, `exec`, `buffer`... */
  failure: string;
  /** What dtee printed after `NAME: `, without the newline. */
  text: string;
}

/** What the reader hands out besides messages, in order with them. */
export interface LogEvents {
  /** A damaged line, passed over. */
  damaged?(error: LogError): void;
  /** A diagnostic record of the current run. */
  said?(diagnostic: RecordedDiagnostic): void;
}

/**
 * Reads a log's runs in turn, each whole, in the order they started: `nextRun()` gives a
 * run's start record, `fill()` its messages batch by batch until it returns 0, then `finish`
 * is its final record (null: the run has none).
 *
 * Records say which run they belong to (`run`), so runs appended at the same time by
 * overlapping dtee processes come apart again: the records of other runs are passed over
 * and read again in their run's turn (from the run's start record, by seeking; a log read
 * from a pipe keeps them in memory instead).
 *
 * A damaged line (a record cut short, not JSON, not valid) is reported to `events.damaged`
 * once, after every message before it was handed out, and reading goes on with the next
 * line; diagnostics go to `events.said` in the same way. LogReadError is thrown when reading
 * fails.
 */
export class LogReader {
  #buf = new Uint8Array(1 << 16);
  /** The file offset of #buf[0]. */
  #bufBase = 0;
  #lineStart = 0;
  #end = 0;
  /** Where the search for the next newline goes on: bytes before it have none. */
  #scan = 0;
  /** Lines decoded but not yet handed out (undefined: a line that is not UTF-8). */
  #ahead: (string | undefined)[] = [];
  #aheadAt = 0;
  /** The bytes #ahead was decoded from, and the file offset of their first byte. */
  #chunk = new Uint8Array(0);
  #chunkBase = 0;
  /** The last line whose offset was asked for, and where it starts in #chunk. */
  #offsetCursor = { index: 0, at: 0 };
  #eof = false;
  #line = 0;
  /** No line read so far holds anything: an empty log, or one of empty lines only. */
  #blankOnly = true;
  /** The furthest line read so far: lines up to it have been checked (and reported) once. */
  #frontier = 0;
  readonly #runs = new Map<string, RunState>();
  /** Runs seen to start, not yet replayed, in the order they started. */
  readonly #pending: RunState[] = [];
  /** Runs whose records come without a start record before them: reported once each. */
  readonly #orphans = new Set<string>();
  #current: RunState | undefined;
  #finish: RunFinish | null | undefined;
  /** Events found while filling a batch, handed out before anything after them. */
  #queued: (() => void)[] = [];

  constructor(
    readonly file: string,
    readonly read: ReadFn,
    readonly close: () => void = () => {},
    /** Moves the log to a byte offset; undefined for a log that cannot (a pipe). */
    readonly seek?: (offset: number) => void,
    /** Set by whoever delivers the runs. */
    public events: LogEvents = {},
  ) {}

  /**
   * The final record of the run that `fill` has finished: null when the run has none (its
   * dtee was killed, or the record is damaged); undefined while the run goes on.
   */
  get finish(): RunFinish | null | undefined {
    return this.#finish;
  }

  /** The next run's start record, or null at the end of the log. */
  nextRun(): RunStart | null {
    this.#flush();
    if (this.#current && this.#finish === undefined) {
      throw new Error("nextRun() before the run's final record");
    }
    this.#current = undefined;
    this.#finish = undefined;
    const next = this.#pending.shift();
    if (next) return this.#resume(next);
    for (let line = this.#nextLine(); line; line = this.#nextLine()) {
      const record = this.#checked(line);
      this.#flush();
      if (record?.type !== "start") continue;
      const run = this.#runs.get(runId(record));
      if (run && !run.done && run.start.line === line.no) return this.#resume(run);
    }
    if (this.#blankOnly) this.#damage("empty log (no start record)", 1);
    this.#flush();
    return null;
  }

  /**
   * Puts the current run's next messages into batch slots 0.. (at most `max`, default every
   * slot): their bytes, lengths, streams (1 stdout, 2 stderr) and times. Returns how many;
   * 0 once the run has ended (then see `finish`).
   */
  fill(batch: MessageBatch, max = batch.lens.length): number {
    this.#flush();
    const run = this.#current;
    if (!run) throw new Error("fill() before nextRun()");
    if (this.#finish !== undefined) return 0;
    const limit = Math.min(max, batch.lens.length);
    // 0 means the run is over: a call that may take nothing would be mistaken for that.
    if (limit < 1) throw new Error("fill() with no slot to fill");
    let count = 0;
    while (count < limit && this.#finish === undefined) {
      const line = this.#nextLine();
      if (!line) {
        this.#unfinished(
          run,
          `end of file inside the run started at line ${run.start.line} (no final record)`,
          this.#line + 1,
        );
        break;
      }
      this.#checked(line, (record) => {
        if (runId(record) !== run.start.id || record.type === "start") return;
        if (record.type === undefined) {
          this.#message(record, batch, count);
          count++;
        } else if (record.type === "end") {
          this.#finish = this.#final(record, line.no);
          run.done = true;
        } else {
          const said = this.#diagnostic(record);
          this.#queued.push(() => this.events.said?.(said));
        }
      });
      if (run.cutAt !== undefined && line.no >= run.cutAt && this.#finish === undefined) {
        this.#unfinished(
          run,
          `start record inside the run started at line ${run.start.line} (that run has no final record)`,
          line.no,
        );
      }
      // Whatever the line told goes out after the messages before it.
      if (this.#queued.length > 0) {
        if (count > 0) break;
        this.#flush();
      }
    }
    return count;
  }

  #flush(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const event of queued) event();
  }

  /** Makes `run` the current one, reading on from its start record. */
  #resume(run: RunState): RunStart {
    this.#current = run;
    if (this.#line > run.start.line && run.saved.length === 0 && this.seek) {
      this.seek(run.offset);
      this.#bufBase = run.offset;
      this.#lineStart = this.#end = this.#scan = 0;
      this.#ahead = [];
      this.#aheadAt = 0;
      this.#eof = false;
      this.#line = run.start.line - 1;
    }
    return run.start;
  }

  /** The current run has no final record: reported at `lineNo`, and it is over. */
  #unfinished(run: RunState, what: string, lineNo: number): void {
    run.done = true;
    this.#finish = null;
    this.#damage(what, lineNo);
  }

  /**
   * The record of `line`, when it is valid and `use` (which may find more wrong) takes it;
   * damage is reported the first time the line is read.
   */
  #checked(line: Line, use: (record: Json) => void = () => {}): Json | undefined {
    try {
      const record = this.#record(line);
      if (record) use(record);
      return record;
    } catch (error) {
      if (!(error instanceof Damage)) throw error;
      if (line.fresh) this.#damage(error.message, line.no);
      return undefined;
    }
  }

  /**
   * The record of `line` with a known `type`, registering a new run's start; records of
   * other runs are kept for their turn (a pipe) or passed over. Throws Damage.
   */
  #record(line: Line): Json | undefined {
    if (line.text !== "") this.#blankOnly = false;
    if (line.text === undefined) throw damage("not valid UTF-8");
    // What a record cut short leaves before the next run's first record, on a line of its own.
    if (line.text === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw damage(`not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw damage("not a JSON object");
    }
    const record = value as Json;
    const type = record.type;
    if (type !== undefined && type !== "start" && type !== "end" && type !== "diagnostic") {
      throw damage(`unknown record type ${JSON.stringify(type)}`);
    }
    const id = record.run;
    if (id !== undefined && (typeof id !== "string" || !RUN_ID.test(id))) {
      throw damage('"run" is not a run id (1 to 64 letters, digits, "_" or "-")');
    }
    const key = runId(record);
    const run = this.#runs.get(key);
    if (type === "start") {
      if (line.fresh) this.#started(record, line, run);
      return record;
    }
    const outside = !run || (run.cutAt !== undefined && line.no >= run.cutAt) ||
      (run.done && line.fresh && run !== this.#current);
    if (outside) {
      if (!line.fresh || this.#orphans.has(key)) return undefined;
      // Reported once: a run whose start record was lost would report every line.
      this.#orphans.add(key);
      const what = type === undefined ? "message" : type === "end" ? "final" : "diagnostic";
      const which = key === LEGACY ? "" : ` of run ${JSON.stringify(key)}`;
      throw damage(`${what} record outside a run (no start record before it${which})`);
    }
    if (run !== this.#current && !run.done && !this.seek && line.fresh) {
      run.saved.push({ ...line, fresh: false });
      return undefined;
    }
    return record;
  }

  /** A start record read for the first time: a run begins. */
  #started(record: Json, line: Line, before: RunState | undefined): void {
    if (before && !before.done && before.start.id !== LEGACY) {
      throw damage(`start record of the run started at line ${before.start.line} (again)`);
    }
    const run: RunState = {
      start: this.#startRecord(record, line.no),
      offset: this.#offsetOf(line),
      done: false,
      saved: [],
    };
    // Runs without an id cannot overlap: this one ends the one before.
    if (before && !before.done) before.cutAt = line.no;
    this.#runs.set(run.start.id, run);
    this.#orphans.delete(run.start.id);
    if (this.#current) this.#pending.push(run);
  }

  /** The next line: one kept for the current run, or the next one read. */
  #nextLine(): Line | null {
    const saved = this.#current?.saved;
    if (saved && saved.length > 0) return saved.shift()!;
    if (this.#aheadAt === this.#ahead.length && !this.#decodeAhead()) return null;
    const no = ++this.#line;
    const fresh = no > this.#frontier;
    if (fresh) this.#frontier = no;
    return { text: this.#ahead[this.#aheadAt++], no, fresh };
  }

  /** Where `line` (the last one read from the file) begins in it. */
  #offsetOf(line: Line): number {
    const index = this.#aheadAt - 1;
    if (line.no !== this.#line || index < 0) return -1;
    const cursor = this.#offsetCursor;
    if (cursor.index > index) cursor.index = cursor.at = 0;
    while (cursor.index < index) {
      cursor.at = this.#chunk.indexOf(0x0a, cursor.at) + 1;
      cursor.index++;
    }
    return this.#chunkBase + cursor.at;
  }

  #damage(what: string, line: number): void {
    const error = new LogError(this.file, line, what);
    this.#queued.push(() => this.events.damaged?.(error));
  }

  /** A line read for the first time at the end of the file: whether it is new. */
  #newLine(): number | undefined {
    const no = ++this.#line;
    if (no <= this.#frontier) return undefined;
    this.#frontier = no;
    return no;
  }

  /**
   * Decodes every complete line in the buffer at once, reading more first if there is none:
   * one decoder call per buffer instead of one per line (the decoder's fixed cost is larger
   * than a short line's). False at the end of the log. A last line without a newline (a
   * record cut short) is reported and passed over, as is a line longer than MAX_LINE.
   */
  #decodeAhead(): boolean {
    let last: number;
    for (;;) {
      last = this.#buf.subarray(this.#scan, this.#end).lastIndexOf(0x0a);
      if (last >= 0) break;
      this.#scan = this.#end;
      if (this.#eof) {
        if (this.#lineStart === this.#end) return false;
        this.#lineStart = this.#end;
        const no = this.#newLine();
        if (no) this.#damage("truncated line (no newline at the end of the file)", no);
        return false;
      }
      if (this.#end - this.#lineStart >= MAX_LINE) {
        this.#skipLongLine();
        continue;
      }
      this.#fillBuffer();
    }
    const end = this.#scan + last;
    const lines = this.#buf.subarray(this.#lineStart, end);
    this.#chunk = lines;
    this.#chunkBase = this.#bufBase + this.#lineStart;
    this.#offsetCursor = { index: 0, at: 0 };
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

  /** Reads more of the log after #end. */
  #fillBuffer(): void {
    this.#room();
    const n = this.read(this.#buf.subarray(this.#end));
    if (n < 0) throw new LogReadError(-n);
    if (n === 0) this.#eof = true;
    this.#end += n;
  }

  /** Passes over a line longer than MAX_LINE rather than buffering it without bound. */
  #skipLongLine(): void {
    const no = this.#newLine();
    if (no) this.#damage(`line longer than ${MAX_LINE} bytes`, no);
    for (;;) {
      const newline = this.#buf.subarray(this.#scan, this.#end).indexOf(0x0a);
      if (newline >= 0) {
        this.#lineStart = this.#scan = this.#scan + newline + 1;
        return;
      }
      this.#lineStart = this.#scan = this.#end;
      if (this.#eof) return;
      this.#fillBuffer();
    }
  }

  /** Makes room after #end: moves the unread part to the front, or grows the buffer. */
  #room(): void {
    if (this.#lineStart > 0) {
      this.#buf.copyWithin(0, this.#lineStart, this.#end);
      this.#bufBase += this.#lineStart;
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
    if (time === undefined) throw damage('missing key "time"');
    if (typeof time !== "string") throw damage('"time" is not a string');
    const ns = parseTime(time);
    if (typeof ns === "string") throw damage(ns);
    return ns;
  }

  #string(record: Json, key: string): string {
    const value = record[key];
    if (value === undefined) throw damage(`missing key "${key}"`);
    if (typeof value !== "string") throw damage(`"${key}" is not a string`);
    return value;
  }

  /** A message record's exact bytes into slot `slot`. */
  #message(record: Json, batch: MessageBatch, slot: number): void {
    const log = this.#string(record, "log");
    const streamName = this.#string(record, "stream");
    const stream = STREAMS[streamName];
    if (stream === undefined) throw damage(`unknown stream ${JSON.stringify(streamName)}`);
    const time = this.#time(record);
    const room = batch.data.subarray(slot * batch.slotSize, (slot + 1) * batch.slotSize);
    let length: number;
    if (record.log_base64 !== undefined) {
      const base64 = record.log_base64;
      const bytes = typeof base64 === "string" ? fromBase64(base64) : undefined;
      if (!bytes) throw damage('"log_base64" is not valid base64');
      if (lossy.decode(bytes) !== log) throw damage('"log" does not match "log_base64"');
      if (bytes.length > room.length) throw this.#tooLong(bytes.length, room.length);
      room.set(bytes);
      length = bytes.length;
    } else {
      // A lone surrogate has no UTF-8: TextEncoder would silently make it U+FFFD.
      if (!log.isWellFormed()) throw damage('"log" holds a lone surrogate (not Unicode text)');
      const { read, written } = encoder.encodeInto(log, room);
      if (read < log.length) throw this.#tooLong(encoder.encode(log).length, room.length);
      length = written;
    }
    batch.lens[slot] = length;
    batch.streams[slot] = stream;
    batch.times[slot] = time;
  }

  #tooLong(length: number, room: number): Damage {
    return damage(`message of ${length} bytes is longer than the ${room} bytes dtee replays`);
  }

  #startRecord(record: Json, line: number): RunStart {
    const timeNs = this.#time(record);
    const pid = record.pid;
    if (pid === undefined) throw damage('missing key "pid"');
    if (!Number.isSafeInteger(pid) || (pid as number) < 1) {
      throw damage('"pid" is not a positive integer');
    }
    const words = record.command;
    if (words === undefined) throw damage('missing key "command"');
    if (
      !Array.isArray(words) || words.length === 0 ||
      !words.every((w) => typeof w === "string" && w.isWellFormed())
    ) {
      throw damage('"command" is not a non-empty array of strings');
    }
    let command = words as string[];
    const exact = record.command_base64;
    if (exact !== undefined) {
      if (!Array.isArray(exact) || exact.length !== words.length) {
        throw damage('"command_base64" is not an array as long as "command"');
      }
      command = exact.map((text, i) => {
        const bytes = typeof text === "string" ? fromBase64(text) : undefined;
        if (!bytes) throw damage(`"command_base64"[${i}] is not valid base64`);
        if (lossy.decode(bytes) !== words[i]) {
          throw damage(`"command"[${i}] does not match "command_base64"[${i}]`);
        }
        return decodeBytes(bytes);
      });
    }
    return { timeNs, pid: pid as number, command, line, id: runId(record) };
  }

  #final(record: Json, line: number): RunFinish {
    const timeNs = this.#time(record);
    const given = ["exit_code", "signal", "dtee_signal"].filter((k) => record[k] !== undefined);
    if (given.length !== 1) {
      throw damage(
        `final record needs exactly one of "exit_code", "signal" and "dtee_signal" (${
          given.length === 0 ? "none" : given.map((k) => `"${k}"`).join(" and ")
        } given)`,
      );
    }
    const [key] = given;
    const value = record[key];
    if (key === "exit_code") {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
        throw damage('"exit_code" is not an integer from 0 to 255');
      }
      return {
        timeNs,
        line,
        end: this.#timedOut(record, { kind: "exited", code: value as number }),
      };
    }
    // 128+N must still be an exit status.
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 127) {
      throw damage(`"${key}" is not an integer from 1 to 127`);
    }
    const signal = value as number;
    const signalName = this.#string(record, "signal_name");
    if (key === "dtee_signal") {
      return { timeNs, line, end: { kind: "dtee-signaled", signal, signalName } };
    }
    const coreDumped = record.core_dumped;
    if (coreDumped === undefined) throw damage('missing key "core_dumped"');
    if (typeof coreDumped !== "boolean") throw damage('"core_dumped" is not true or false');
    const end = this.#timedOut(record, { kind: "signaled", signal, signalName, coreDumped });
    return { timeNs, line, end };
  }

  /** How the command ended, after its time limit passed when the record says so (`timed_out_after`). */
  #timedOut(record: Json, process: ProcessEnd): CommandEnd {
    const after = record.timed_out_after;
    if (after === undefined) return process;
    const limit = typeof after === "string" ? parseDuration(after) : undefined;
    if (!limit) throw damage('"timed_out_after" is not a time limit ("30s", "10m", ...)');
    return { kind: "timed-out", after: limit.text, process };
  }

  #diagnostic(record: Json): RecordedDiagnostic {
    const timeNs = this.#time(record);
    const failure = this.#string(record, "failure");
    const text = this.#string(record, "text");
    if (!text.isWellFormed()) throw damage('"text" holds a lone surrogate (not Unicode text)');
    return { timeNs, failure, text };
  }
}

/** The run a record belongs to: its `run` key, or LEGACY for an older dtee's records. */
function runId(record: Json): string {
  return (record.run as string | undefined) ?? LEGACY;
}

/**
 * Replay pacing (docs/jsonlog.md "Replay"): how long to wait before each message so that it
 * comes out as long after its run's start as it was recorded. Deadlines are counted from the
 * run's start, not from the previous message, so the time spent delivering does not add up;
 * the gap between two runs of an appended log is not reproduced (it is the time between two
 * invocations, not part of either). A gap longer than `maxDelayMs` (--max-delay) counts as
 * that long, for this message and every later one of the run.
 */
export class Pacer {
  #recorded = 0n;
  #now = 0;
  /** The recorded time of the message before. */
  #last = 0n;
  /** ms of recorded gaps beyond `maxDelayMs`, taken out of every later deadline. */
  #skipped = 0;

  constructor(readonly maxDelayMs = Infinity) {}

  /** A run begins: its start record's time and the current time in ms (a monotonic clock). */
  startRun(recordedNs: bigint, nowMs: number): void {
    this.#recorded = this.#last = recordedNs;
    this.#now = nowMs;
    this.#skipped = 0;
  }

  /** ms to wait before delivering what was recorded at `recordedNs` (0 when it is due). */
  delay(recordedNs: bigint, nowMs: number): number {
    const gap = Number(recordedNs - this.#last) / 1e6;
    if (gap > this.maxDelayMs) this.#skipped += gap - this.maxDelayMs;
    this.#last = recordedNs;
    const due = this.#now + Number(recordedNs - this.#recorded) / 1e6 - this.#skipped;
    return Math.max(0, due - nowMs);
  }
}
