/**
 * Annotated text (docs/behaviour.md B6): one line per line the command wrote,
 * `TIME S: text`, S being `O` (stdout) or `E` (stderr) as annotate-output writes
 * them, TIME the kernel's time of the write that began the line; `I:` lines
 * when the run starts and ends.
 *
 * Works on bytes: the text is the command's own, whatever it is. A line that
 * one stream leaves unfinished when the other writes is ended there (the one
 * newline dtee adds), and its rest, when it comes, starts a line marked `S+`
 * instead of `S:`, so that no line mixes the two streams and the command's
 * bytes can be put back together exactly.
 */

import { Mask, Stream } from "./abi.ts";
import type { MessageBatch } from "./jsonlog.ts";
import type { RecordedEnd } from "./run_end.ts";
import { encode, escapeControls } from "./text.ts";
import type { TimeStamper } from "./timeformat.ts";

/** Where a stream's text stands: at the start of a line, inside one, or after a cut. */
const FRESH = 0;
const OPEN = 1;
const CUT = 2;

const NEWLINE = 0x0a;
const LETTER = [0, 0x4f, 0x45]; // -, O, E
const COLON = 0x3a;
const PLUS = 0x2b;

/** Words that a POSIX shell reads back as they are without quotes. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** Bytes that single quotes cannot carry on one line, or that are not text. */
// deno-lint-ignore no-control-regex -- control characters are what it looks for
const UNQUOTABLE = /[\x00-\x1f\x7f\udc80-\udcff]/;

/**
 * The command words as a shell would take them back, on one line: plain,
 * 'single-quoted', or $'…' with \n, \xHH escapes where a word holds control
 * characters or bytes that are not UTF-8.
 */
export function shellWords(words: readonly string[]): Uint8Array {
  return encode(words.map(shellWord).join(" "));
}

function shellWord(word: string): string {
  if (PLAIN.test(word)) return word;
  if (!UNQUOTABLE.test(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  let out = "$'";
  for (const b of encode(word)) {
    if (b === 0x27 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b === NEWLINE) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(b);
  }
  // A multi-byte character is written as its bytes: $'\xc3\xa9' is é again.
  return out + "'";
}

/** A duration in seconds with microseconds: `1.234567`. */
export function seconds(ns: bigint): string {
  const negative = ns < 0n;
  const us = (negative ? -ns : ns) / 1000n;
  return `${negative ? "-" : ""}${us / 1_000_000n}.${
    (us % 1_000_000n).toString().padStart(6, "0")
  }`;
}

/** What the `I:` line at the end of a run says (`signalName`: strsignal(3) of its signal). */
export function finishedText(ended: RecordedEnd, signalName: string, durationNs: bigint): string {
  const time = seconds(durationNs);
  switch (ended.kind) {
    case "exited":
      return `Finished in ${time} s: exited with status ${ended.code}`;
    case "signaled":
      return `Finished in ${time} s: terminated by signal ${ended.signal} (${signalName})${
        ended.coreDumped ? ", core dumped" : ""
      }`;
    case "dtee-signaled":
      return `Interrupted after ${time} s: dtee received signal ${ended.signal} (${signalName})`;
    case "timed-out": {
      // Its time limit passed first (docs/behaviour.md B7): said before how it then ended.
      const then = finishedText(ended.process, signalName, durationNs);
      const at = then.indexOf(": ") + 2;
      return `${then.slice(0, at)}timed out after ${ended.after}, then ${then.slice(at)}`;
    }
  }
}

/**
 * Turns messages into annotated lines, keeping per stream whether a line is
 * open, across batches. Every method returns a view of one reused buffer,
 * valid until the next call.
 */
export class Annotator {
  #buf = new Uint8Array(1 << 16);
  #pos = 0;
  /** FRESH, OPEN or CUT, by stream (1 stdout, 2 stderr). */
  readonly #state = [FRESH, FRESH, FRESH];
  #startNs = 0n;

  constructor(readonly stamper: TimeStamper) {}

  /**
   * A run starts at `timeNs`: its `I: Started` line. A line that a run without
   * an end (a replayed log's dtee killed) left open is ended first, as an
   * appending output ends a file found not ending in a newline.
   */
  started(timeNs: bigint, command: readonly string[]): Uint8Array {
    this.#pos = 0;
    if (this.close() !== 0) this.#byte(NEWLINE);
    this.#state.fill(FRESH);
    this.#startNs = timeNs;
    this.stamper.start(timeNs);
    return this.#info(timeNs, "Started ", shellWords(command));
  }

  /**
   * The lines of the messages from..to whose stream is in `mask`. With both
   * streams, a line the other stream left open is ended before a message;
   * with one, the caller ends it where the other stream's text goes (`cut`).
   */
  messages(
    batch: MessageBatch,
    from: number,
    to: number,
    mask: number = Mask.combined,
  ): Uint8Array {
    const { data, slotSize, lens, streams, times } = batch;
    this.#pos = 0;
    for (let i = from; i < to; i++) {
      const stream = streams[i];
      if (!(mask & (1 << stream)) || lens[i] === 0) continue;
      if (stream !== Stream.stdout && stream !== Stream.stderr) continue;
      if (this.cut(stream)) this.#byte(NEWLINE);
      const start = i * slotSize;
      this.#text(data.subarray(start, start + lens[i]), stream, times[i]);
    }
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * `stream` writes: the other stream's open line ends here. Whether it was
   * open (its newline is then due, on the other stream's way).
   */
  cut(stream: number): boolean {
    const other = stream === Stream.stdout ? Stream.stderr : Stream.stdout;
    if (this.#state[other] !== OPEN) return false;
    this.#state[other] = CUT;
    return true;
  }

  /** Ends an open line; which stream's it was (0: none). */
  close(): number {
    for (const stream of [Stream.stdout, Stream.stderr]) {
      if (this.#state[stream] !== OPEN) continue;
      this.#state[stream] = CUT;
      return stream;
    }
    return 0;
  }

  /** The run ended at `timeNs`: an open line is ended, then the `I:` line. */
  finished(timeNs: bigint, ended: RecordedEnd, signalName: string): Uint8Array {
    this.#pos = 0;
    if (this.close() !== 0) this.#byte(NEWLINE);
    // A log's signal name may hold anything: its control characters escaped, the line stays one.
    const name = escapeControls(signalName);
    const text = encode(finishedText(ended, name, timeNs - this.#startNs));
    return this.#info(timeNs, "", text);
  }

  /** Adds `TIME I: <what><text>\n`; returns everything written since the buffer was reset. */
  #info(timeNs: bigint, what: string, text: Uint8Array): Uint8Array {
    this.#reserve(this.stamper.room + what.length + text.length + 8);
    this.#pos = this.stamper.stamp(timeNs, this.#buf, this.#pos);
    for (const c of ` I: ${what}`) this.#buf[this.#pos++] = c.charCodeAt(0);
    this.#buf.set(text, this.#pos);
    this.#pos += text.length;
    this.#buf[this.#pos++] = NEWLINE;
    return this.#buf.subarray(0, this.#pos);
  }

  /** One message's text, a prefix before each line it begins (or continues after a cut). */
  #text(msg: Uint8Array, stream: number, timeNs: bigint): void {
    const state = this.#state[stream];
    let i = 0;
    if (state !== OPEN) this.#prefix(stream, timeNs, state === CUT ? PLUS : COLON);
    for (;;) {
      const nl = msg.indexOf(NEWLINE, i);
      const end = nl < 0 ? msg.length : nl + 1;
      this.#copy(msg, i, end);
      i = end;
      if (i >= msg.length) break;
      this.#prefix(stream, timeNs, COLON);
    }
    this.#state[stream] = msg[msg.length - 1] === NEWLINE ? FRESH : OPEN;
  }

  #prefix(stream: number, timeNs: bigint, mark: number): void {
    this.#reserve(this.stamper.room + 4);
    const buf = this.#buf;
    let pos = this.stamper.stamp(timeNs, buf, this.#pos);
    buf[pos++] = 0x20;
    buf[pos++] = LETTER[stream];
    buf[pos++] = mark;
    buf[pos++] = 0x20;
    this.#pos = pos;
  }

  #copy(src: Uint8Array, from: number, to: number): void {
    this.#reserve(to - from);
    const buf = this.#buf;
    // Below this a subarray costs more than copying byte by byte.
    if (to - from > 32) {
      buf.set(src.subarray(from, to), this.#pos);
      this.#pos += to - from;
      return;
    }
    let pos = this.#pos;
    for (let k = from; k < to; k++) buf[pos++] = src[k];
    this.#pos = pos;
  }

  #byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#pos++] = b;
  }

  /** Makes room for `size` more bytes, keeping what is already written. */
  #reserve(size: number): void {
    if (this.#pos + size <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(2 * this.#buf.length, this.#pos + size));
    bigger.set(this.#buf.subarray(0, this.#pos));
    this.#buf = bigger;
  }
}
