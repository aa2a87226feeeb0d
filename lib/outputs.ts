/**
 * Where messages go (docs/behaviour.md A3): dtee's own stdout and stderr
 * (the stream kind) and the output files (the file kind), grouped into
 * destinations so that outputs leading to the same file, pipe or terminal
 * get the command's messages in the order it wrote them, and ordered so
 * that a broken pipe leaves every output as message-by-message delivery
 * would have left it.
 */

import { Errno, Mask, Stream } from "./abi.ts";
import type { JsonLogSpec, OutputSpec } from "./cli.ts";
import {
  type Batch,
  type FdInfo,
  fdInfo,
  openOutput,
  sameDestination,
  strsignal,
  writeAll,
} from "./ffi.ts";
import { JsonLogEncoder, type RunEnd } from "./jsonlog.ts";
import type { CommandResult, Failure, Reporter, ResultHandler, RunInfo } from "./failures.ts";
import type { Cron } from "./cron.ts";
import type { MessageSink } from "./sink.ts";

/** One descriptor and the streams it wants. */
abstract class Output {
  #failing = false;
  readonly info: FdInfo;

  constructor(
    readonly fd: number,
    readonly mask: number,
    /** What precedes the error text: the file name, or `stdout: write`. */
    readonly label: string,
    readonly reporter: Reporter,
  ) {
    const info = fdInfo(fd);
    this.info = info.ok
      ? info.value
      : { kind: "other", identity: `fd:${fd}`, keepsBoundaries: false };
  }

  wants(stream: number): boolean {
    return (this.mask & (1 << stream)) !== 0;
  }

  /** Whether its writes carry the messages' bytes as they are, so that one write can serve several outputs. */
  get mergeable(): boolean {
    return true;
  }

  /** Whether a write can fail with EPIPE (a pipe, FIFO or socket whose reader is gone). */
  get breakable(): boolean {
    return this.info.kind === "pipe" || this.info.kind === "socket";
  }

  /**
   * Writes the wanted messages of from..to (with `mask` instead of its own
   * when it stands for several outputs): `to`, or where a broken pipe
   * stopped it.
   */
  write(batch: Batch, from: number, to: number, mask = this.mask): number {
    // A datagram socket (an outer dtee's) takes each message in a write of its own.
    if (!this.info.keepsBoundaries) return this.#outcome(batch.write(this.fd, from, to, mask), to);
    for (let i = from; i < to; i++) {
      const at = this.#outcome(batch.write(this.fd, i, i + 1, mask), i + 1);
      if (at <= i) return i;
    }
    return to;
  }

  /** What the output is called when its broken pipe stopped a delivery. */
  brokenLabel(): string {
    return this.label;
  }

  /** Whether the last write of writeBytes stopped short. */
  protected interruptedLast = false;

  /** Writes bytes that stand for messages from..to: `to`, or `from` on a broken pipe or a stop. */
  protected writeBytes(bytes: Uint8Array, from: number, to: number): number {
    this.interruptedLast = false;
    if (bytes.length === 0) return to;
    const ret = writeAll(this.fd, bytes);
    this.interruptedLast = !ret.ok && (ret.errno === Errno.EPIPE || ret.errno === Errno.EINTR);
    return this.#outcome(ret.ok ? { ok: true, value: 1 } : { ...ret, done: from }, to);
  }

  #outcome(ret: ReturnType<Batch["write"]>, to: number): number {
    if (ret.ok) {
      // Only a write that carried something shows the output has recovered.
      if (ret.value > 0) this.#failing = false;
      return to;
    }
    // EINTR: a signal that stops dtee ended the write (lib/signals.ts).
    if (ret.errno === Errno.EPIPE || ret.errno === Errno.EINTR) return ret.done;
    this.failed(ret.errno);
    return to;
  }

  /** A failed write is reported once, then again only after one has succeeded. */
  failed(errno: number): void {
    if (this.#failing) return;
    this.#failing = true;
    this.reporter.fail({ kind: "write", label: this.label, errno });
  }
}

/** dtee's own stdout and stderr, first in delivery order. */
export function streamOutputs(reporter: Reporter, gate?: Cron): StreamOutput[] {
  return [new StreamOutput("stdout", reporter, gate), new StreamOutput("stderr", reporter, gate)];
}

/**
 * dtee's own stdout or stderr; in cron mode behind the gate that holds
 * stdout back until the command writes to stderr (lib/cron.ts).
 */
export class StreamOutput extends Output {
  /** Writing out the held stdout (stdout's own fd) met a broken pipe. */
  #releaseBroke = false;

  constructor(readonly stream: "stdout" | "stderr", reporter: Reporter, readonly gate?: Cron) {
    super(stream === "stdout" ? 1 : 2, Mask[stream], `${stream}: write`, reporter);
  }

  /** While stdout is held back, each message must meet the gate on its own stream's way. */
  override get mergeable(): boolean {
    return !this.gate?.holding;
  }

  override brokenLabel(): string {
    return this.#releaseBroke ? "stdout: write" : this.label;
  }

  override write(batch: Batch, from: number, to: number, mask = this.mask): number {
    this.#releaseBroke = false;
    const gate = this.gate;
    if (gate?.holding) {
      if (this.stream === "stdout") {
        if (gate.hold(batch, from, to)) return to;
      } else {
        const first = batch.streams.indexOf(Stream.stderr, from);
        if (first >= 0 && first < to && !gate.stderrArrived()) {
          this.#releaseBroke = gate.releaseBroke;
          return first;
        }
      }
    }
    return super.write(batch, from, to, mask);
  }
}

/** An output file (-o -O -e -E -c -C). */
export class FileOutput extends Output {
  constructor(fd: number, spec: OutputSpec, reporter: Reporter) {
    super(fd, Mask[spec.stream], spec.path, reporter);
  }
}

const NEWLINE = new Uint8Array([0x0a]);

/**
 * A JSON Lines log (-j -J, docs/jsonlog.md): a start record when the
 * command starts, one record per message, a final record when it ends.
 * Each batch's records go out in one write.
 */
export class JsonOutput extends Output {
  readonly #encoder = new JsonLogEncoder();
  /** The run's final record is written (one per run, whatever stops dtee after it). */
  #ended = false;
  /** A write was cut short (a stop signal, a reader that does not read): the line is unfinished. */
  #torn = false;

  constructor(fd: number, spec: JsonLogSpec, reporter: Reporter) {
    super(fd, Mask.combined, spec.path, reporter);
  }

  override get mergeable(): boolean {
    return false;
  }

  override write(batch: Batch, from: number, to: number): number {
    return this.#write(this.#encoder.messages(batch, from, to), from, to);
  }

  started(run: RunInfo): void {
    this.#ended = false;
    this.#write(this.#encoder.start(run.timeNs, run.pid, run.command), 0, 0);
  }

  terminated(result: CommandResult, timeNs: bigint): void {
    this.#end(result, timeNs);
  }

  interrupted(signal: number, timeNs: bigint): void {
    this.#end({ kind: "dtee-signaled", signal }, timeNs);
  }

  #end(ended: RunEnd, timeNs: bigint): void {
    if (this.#ended) return;
    this.#ended = true;
    const name = ended.kind === "exited" ? "" : strsignal(ended.signal);
    // After a cut-short line the final record starts a line of its own.
    if (this.#torn) this.#write(NEWLINE, 0, 0);
    this.#write(this.#encoder.end(timeNs, ended, name), 0, 0);
  }

  #write(bytes: Uint8Array, from: number, to: number): number {
    const at = this.writeBytes(bytes, from, to);
    this.#torn = this.interruptedLast;
    return at;
  }
}

/** The C tool's order of opening: every -O, then -E, -C, -o, -e, -c, each in the order given. */
const OPEN_ORDER = ["stdout", "stderr", "combined"].flatMap((stream) =>
  [false, true].map((append) => ({ stream, append }))
).sort((a, b) => Number(a.append) - Number(b.append));

/**
 * Opens every output file before the command starts, reporting each
 * failure, in the C tool's order, then the JSON logs (-J, then -j).
 */
export function openFiles(
  specs: readonly OutputSpec[],
  logs: readonly JsonLogSpec[],
  reporter: Reporter,
): Output[] {
  const ordered = OPEN_ORDER.flatMap(({ stream, append }) =>
    specs.filter((s) => s.stream === stream && s.append === append)
  );
  const open = (path: string, append: boolean) => {
    const fd = openOutput(path, append);
    if (!fd.ok) reporter.fail({ kind: "open", path, errno: fd.errno });
    return fd.ok ? fd.value : -1;
  };
  const files: Output[] = [];
  for (const spec of ordered) {
    const fd = open(spec.path, spec.append);
    if (fd >= 0) files.push(new FileOutput(fd, spec, reporter));
  }
  for (const spec of [...logs.filter((l) => !l.append), ...logs.filter((l) => l.append)]) {
    const fd = open(spec.path, spec.append);
    if (fd >= 0) files.push(new JsonOutput(fd, spec, reporter));
  }
  return files;
}

/**
 * Outputs that lead to one file, pipe or terminal: their writes must
 * interleave exactly as message-by-message delivery to each in turn would.
 * Members are in delivery order.
 */
class Destination {
  /** The member whose broken pipe stopped the last delivery. */
  broken: Output | undefined;
  readonly #single: Output | undefined;
  /** All members write through one description or append to one file: one write can serve them. */
  readonly #sameFile: boolean;
  /** For each stream, the members that want it, in order. */
  readonly #wanting: Output[][];

  constructor(readonly members: Output[]) {
    this.#single = members.length === 1 ? members[0] : undefined;
    this.#sameFile = members.every((m) => sameDestination(members[0].fd, m.fd));
    this.#wanting = [Stream.foreign, Stream.stdout, Stream.stderr].map((s) =>
      members.filter((m) => m.wants(s))
    );
  }

  get breakable(): boolean {
    return this.members.some((m) => m.breakable);
  }

  deliver(batch: Batch, from: number, to: number): number {
    this.broken = undefined;
    if (this.#single) return this.#through(this.#single, batch, from, to);
    const first = this.members[0];
    // Whether the members' writes may be merged can change (cron mode's gate).
    const merged = this.#sameFile && this.members.every((m) => m.mergeable);
    if (merged && this.#wanting.every((w) => w.length <= 1)) {
      return this.#through(first, batch, from, to, Mask.combined);
    }
    for (let start = from; start < to;) {
      const end = batch.runEnd(start, to);
      const wanting = this.#wanting[batch.streams[start]] ?? [];
      if (wanting.length === 1) {
        const at = this.#through(wanting[0], batch, start, end);
        if (at < end) return at;
      } else if (wanting.length > 1) {
        // Several outputs want each message: in turn, message by message.
        for (let i = start; i < end; i++) {
          for (const m of wanting) {
            if (this.#through(merged ? first : m, batch, i, i + 1, m.mask) <= i) return i;
          }
        }
      }
      start = end;
    }
    return to;
  }

  #through(output: Output, batch: Batch, from: number, to: number, mask?: number): number {
    const at = output.write(batch, from, to, mask);
    if (at < to) this.broken = output;
    return at;
  }
}

/**
 * Every output in delivery order (dtee's stdout and stderr first, then the
 * files in the order they were opened), grouped into destinations. Outputs
 * that can break are written first, so that on a broken pipe at message K
 * the others get exactly messages up to K, and K itself only where it comes
 * before the broken output.
 */
export class Dispatch implements MessageSink, ResultHandler {
  /** The output whose broken pipe stopped the last delivery. */
  broken: Output | undefined;
  readonly #destinations: Destination[];
  readonly #breakable: Destination[];
  /** Position of each output in delivery order. */
  readonly #rank = new Map<Output, number>();
  readonly #logs: JsonOutput[];
  /**
   * Every output in delivery order, when one that can break comes after one
   * that cannot: then each message goes to each output in turn, so that an
   * output that blocks holds back none before it. Otherwise undefined: the
   * ones that can break come first anyway, and each destination takes a
   * batch in one write.
   */
  readonly #oneByOne: Output[] | undefined;

  /**
   * `outputs`: in delivery order; `handlers`: who else hears of the run
   * (cron mode's gate, which reports).
   */
  constructor(outputs: Output[], readonly handlers: readonly ResultHandler[] = []) {
    outputs.forEach((o, i) => this.#rank.set(o, i));
    this.#logs = outputs.filter((o) => o instanceof JsonOutput);
    const streams = new Set(
      outputs.filter((o) => o instanceof StreamOutput).map((o) => o.info.identity),
    );
    const groups = new Map<string, Output[]>();
    for (const o of outputs) {
      // dtee's stdout and stderr are always one destination, so that a
      // reader of both sees the order, with every file that leads where they do.
      const key = o instanceof StreamOutput || streams.has(o.info.identity) ? "" : o.info.identity;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    this.#destinations = [...groups.values()].map((members) => new Destination(members));
    this.#breakable = this.#destinations.filter((d) => d.breakable);
    const lastBreakable = outputs.findLastIndex((o) => this.#destinationOf(o).breakable);
    const firstOther = outputs.findIndex((o) => !this.#destinationOf(o).breakable);
    this.#oneByOne = firstOther >= 0 && firstOther < lastBreakable ? outputs : undefined;
  }

  #destinationOf(output: Output): Destination {
    return this.#destinations.find((d) => d.members.includes(output))!;
  }

  brokenLabel(): string | undefined {
    return this.broken?.brokenLabel();
  }

  failed(failure: Failure): void {
    for (const h of this.handlers) h.failed(failure);
  }

  started(run: RunInfo): void {
    for (const h of this.handlers) h.started(run);
    for (const log of this.#logs) log.started(run);
  }

  terminated(result: CommandResult, timeNs: bigint): boolean {
    // The logs' final records come after cron mode's report; when a signal
    // or a broken pipe cut that short, the record says dtee was stopped.
    let done = true;
    for (const h of this.handlers) done &&= h.terminated(result, timeNs);
    if (done) { for (const log of this.#logs) log.terminated(result, timeNs); }
    return done;
  }

  interrupted(signal: number, timeNs: bigint, brokenLabel?: string): void {
    for (const h of this.handlers) h.interrupted(signal, timeNs, brokenLabel);
    for (const log of this.#logs) log.interrupted(signal, timeNs);
  }

  deliver(batch: Batch, from: number, to: number): number {
    this.broken = undefined;
    if (this.#oneByOne) return this.#oneByOneDeliver(this.#oneByOne, batch, from, to);
    if (this.#breakable.length === 1) {
      const d = this.#breakable[0];
      const at = d.deliver(batch, from, to);
      if (at < to) return this.#finish(batch, from, at, d.broken, new Set([d]), new Set([d]));
    } else if (this.#breakable.length > 1) {
      // Which of several pipes breaks first decides what the others hold:
      // in turn, message by message.
      const ranged = new Set(this.#breakable);
      for (let i = from; i < to; i++) {
        for (const [j, d] of this.#breakable.entries()) {
          if (d.deliver(batch, i, i + 1) > i) continue;
          return this.#finish(
            batch,
            from,
            i,
            d.broken,
            ranged,
            new Set(this.#breakable.slice(0, j + 1)),
          );
        }
      }
    }
    for (const d of this.#destinations) {
      if (!d.breakable) d.deliver(batch, from, to);
    }
    return to;
  }

  /** Each message to each output that wants it, in delivery order; stops at a broken pipe. */
  #oneByOneDeliver(outputs: Output[], batch: Batch, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const stream = batch.streams[i];
      for (const o of outputs) {
        if (!o.wants(stream) || o.write(batch, i, i + 1) > i) continue;
        this.broken = o;
        return i;
      }
    }
    return to;
  }

  /**
   * A broken pipe at message `at` on `broken`: every
   * destination not in `ranged` gets messages from..at, and each output
   * ranked before the broken one not in a `done` destination gets `at` too.
   */
  #finish(
    batch: Batch,
    from: number,
    at: number,
    broken: Output | undefined,
    ranged: Set<Destination>,
    done: Set<Destination>,
  ): number {
    this.broken = broken;
    const limit = broken === undefined ? -1 : this.#rank.get(broken)!;
    for (const d of this.#destinations) {
      if (done.has(d)) continue;
      if (!ranged.has(d) && from < at) d.deliver(batch, from, at);
      for (const m of d.members) {
        if (this.#rank.get(m)! < limit) m.write(batch, at, at + 1);
      }
    }
    return at;
  }
}
