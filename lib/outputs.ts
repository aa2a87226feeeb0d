/**
 * Where messages go: dtee's own stdout/stderr and the output files
 * (docs/behaviour.md A3). Each output takes whole batches, filtered by stream.
 */

import type { OutputSpec } from "./cli.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { type Batch, keepsBoundaries, openOutput, sameDestination, Stream } from "./ffi.ts";
import { EX_CANTCREAT, EX_IOERR, type Failures } from "./status.ts";

const EPIPE = 32;

/** Anything that receives the command's messages, in order. */
export interface MessageSink {
  /** Takes messages from..to of a received batch. */
  deliver(batch: Batch, from: number, to: number): void;
}

/** Stream masks for Batch.write: bit (1 << stream). */
export const Mask = {
  stdout: 1 << Stream.stdout,
  stderr: 1 << Stream.stderr,
  combined: (1 << Stream.stdout) | (1 << Stream.stderr),
} as const;

export interface Context {
  diagnostics: Diagnostics;
  failures: Failures;
  /** What a broken pipe on dtee's own stdout/stderr means in this mode. */
  brokenPipe: () => void;
}

/**
 * One descriptor and the streams it wants. A failed write is reported once,
 * then again only after a write to it has succeeded (docs/behaviour.md A3).
 */
export class Output implements MessageSink {
  #failing = false;
  /** A datagram socket (e.g. an outer dtee's) takes each message in a write of its own. */
  readonly #oneByOne: boolean;

  constructor(
    readonly fd: number,
    readonly mask: number,
    /** What precedes the error text: the file name, or `stdout: write`. */
    readonly label: string,
    readonly standard: boolean,
    readonly context: Context,
  ) {
    this.#oneByOne = standard && keepsBoundaries(fd);
  }

  deliver(batch: Batch, from: number, to: number): void {
    if (!this.#oneByOne) return this.#done(batch.write(this.fd, from, to, this.mask));
    for (let i = from; i < to; i++) this.#done(batch.write(this.fd, i, i + 1, this.mask));
  }

  /** Records the outcome of a batch write: messages written, or -errno. */
  #done(ret: number): void {
    // Only a write that carried something shows the output has recovered.
    if (ret > 0) this.#failing = false;
    else if (ret < 0) this.failed(-ret);
  }

  /** Reports a failed write to this output (also one made on its behalf). */
  failed(errno: number): void {
    // Nobody reads dtee's own output any more: that is a SIGPIPE (docs/behaviour.md A5),
    // not a write error to report.
    if (this.standard && errno === EPIPE) return this.context.brokenPipe();
    this.context.failures.add(EX_IOERR);
    if (!this.#failing) this.context.diagnostics.error(this.label, errno);
    this.#failing = true;
  }
}

/** Opens every output file before the command starts; reports each failure. */
export function openFiles(specs: readonly OutputSpec[], context: Context): Output[] {
  const outputs: Output[] = [];
  for (const spec of specs) {
    const fd = openOutput(spec.path, spec.append);
    if (fd < 0) {
      context.diagnostics.error(spec.path, -fd);
      context.failures.add(EX_CANTCREAT);
      continue;
    }
    outputs.push(new Output(fd, Mask[spec.stream], spec.path, false, context));
  }
  return outputs;
}

/**
 * dtee's own stdout and stderr. When both lead to the same place (`2>&1`, a
 * terminal) a batch goes out in one write; otherwise run by run in the order
 * received, so that a reader of both still sees the command's order.
 */
export class Standard implements MessageSink {
  readonly stdout: Output;
  readonly stderr: Output;
  /** Both streams through fd 1, when that is where fd 2 leads too. */
  readonly #merged: Output | undefined;

  constructor(context: Context) {
    this.stdout = new Output(1, Mask.stdout, "stdout: write", true, context);
    this.stderr = new Output(2, Mask.stderr, "stderr: write", true, context);
    if (sameDestination(1, 2)) {
      this.#merged = new Output(1, Mask.combined, "stdout: write", true, context);
    }
  }

  deliver(batch: Batch, from: number, to: number): void {
    if (this.#merged) return this.#merged.deliver(batch, from, to);
    const streams = batch.streams;
    for (let start = from; start < to;) {
      const stream = streams[start];
      let end = start + 1;
      while (end < to && streams[end] === stream) end++;
      // Messages from foreign senders (stream 0) go nowhere.
      if (stream === Stream.stdout) this.stdout.deliver(batch, start, end);
      else if (stream === Stream.stderr) this.stderr.deliver(batch, start, end);
      start = end;
    }
  }
}

/** Delivers every batch to each of several sinks in turn. */
export class Fanout implements MessageSink {
  constructor(readonly sinks: readonly MessageSink[]) {}

  deliver(batch: Batch, from: number, to: number): void {
    for (const sink of this.sinks) sink.deliver(batch, from, to);
  }
}
