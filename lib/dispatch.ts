/**
 * Delivery (docs/behaviour.md A3): every output in the C tool's order
 * (dtee's stdout and stderr, then the files in the order they were opened),
 * grouped into destinations so that outputs leading to the same file, pipe
 * or terminal get the command's messages in the order it wrote them, and
 * delivered so that an output that blocks holds back none before it and a
 * broken pipe leaves every output as message-by-message delivery would have
 * left it. The run's start and end go to every output alike.
 */

import { Mask, Stream } from "./abi.ts";
import { type Batch, sameDestination } from "./ffi.ts";
import type { Failure, FailureListener } from "./failures.ts";
import type { Output } from "./output.ts";
import type { CommandEnd, Interruption } from "./run_end.ts";
import type { RunInfo, Sink } from "./sink.ts";

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
 * Every output in delivery order, grouped into destinations. On a broken
 * pipe at message K the others get exactly messages up to K, and K itself
 * only where it comes before the broken output.
 */
export class Dispatch implements Sink, FailureListener {
  /** The output whose broken pipe stopped the last delivery. */
  broken: Output | undefined;
  readonly #destinations: Destination[];
  readonly #breakable: Destination[];
  /** Position of each output in delivery order. */
  readonly #rank = new Map<Output, number>();
  /**
   * Every output in delivery order, when one that can break comes after one
   * that cannot: then each message goes to each output in turn, so that an
   * output that blocks holds back none before it. Otherwise undefined: the
   * ones that can break come first anyway, and each destination takes a
   * batch in one write.
   */
  readonly #oneByOne: Output[] | undefined;

  /** `outputs`: in delivery order. */
  constructor(readonly outputs: readonly Output[]) {
    outputs.forEach((o, i) => this.#rank.set(o, i));
    const own = new Set(outputs.filter((o) => o.own).map((o) => o.info.identity));
    const groups = new Map<string, Output[]>();
    for (const o of outputs) {
      // dtee's stdout and stderr are always one destination, so that a
      // reader of both sees the order, with every file that leads where they do.
      const key = o.own || own.has(o.info.identity) ? "" : o.info.identity;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    this.#destinations = [...groups.values()].map((members) => new Destination(members));
    this.#breakable = this.#destinations.filter((d) => d.breakable);
    const breaks = (o: Output) => this.#destinations.find((d) => d.members.includes(o))!.breakable;
    const firstOther = outputs.findIndex((o) => !breaks(o));
    const lastBreakable = outputs.findLastIndex(breaks);
    this.#oneByOne = firstOther >= 0 && firstOther < lastBreakable ? [...outputs] : undefined;
  }

  brokenLabel(): string | undefined {
    return this.broken?.brokenLabel();
  }

  /** Every output is open. */
  opened(): void {
    for (const o of this.outputs) o.opened?.();
  }

  started(run: RunInfo): void {
    for (const o of this.outputs) o.started?.(run);
  }

  terminated(end: CommandEnd, timeNs: bigint): boolean {
    // In order: once cron mode's report is cut short by a signal or a broken
    // pipe, the logs' final records say dtee was stopped instead.
    for (const o of this.outputs) if (o.terminated?.(end, timeNs) === false) return false;
    return true;
  }

  interrupted(end: Interruption, timeNs: bigint): void {
    for (const o of this.outputs) o.interrupted?.(end, timeNs);
  }

  /**
   * The logs record what dtee said. A failure while a batch goes out is
   * recorded after the batch's records: it was printed after dtee's own
   * stdout and stderr, which come first, had the batch.
   */
  failed(failure: Failure): void {
    if (this.#delivering) this.#noted.push(failure);
    else for (const o of this.outputs) o.noted?.(failure);
  }

  #delivering = false;
  readonly #noted: Failure[] = [];

  deliver(batch: Batch, from: number, to: number): number {
    this.#delivering = true;
    try {
      return this.#deliver(batch, from, to);
    } finally {
      this.#delivering = false;
      // Per batch: a new array only when a failure was held back.
      if (this.#noted.length > 0) {
        for (const failure of this.#noted.splice(0)) this.failed(failure);
      }
    }
  }

  #deliver(batch: Batch, from: number, to: number): number {
    this.broken = undefined;
    if (this.#oneByOne) return this.#inTurn(this.#oneByOne, batch, from, to);
    const at = this.#breakableFirst(batch, from, to);
    if (at < to) return at;
    for (const d of this.#destinations) {
      if (!d.breakable) d.deliver(batch, from, to);
    }
    return to;
  }

  /** Each message to each output that wants it, in delivery order; stops at a broken pipe. */
  #inTurn(outputs: readonly Output[], batch: Batch, from: number, to: number): number {
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
   * The destinations that can break, when they all come before the others:
   * `to`, or the message at which one broke (the others then have what
   * message-by-message delivery would have left them).
   */
  #breakableFirst(batch: Batch, from: number, to: number): number {
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
          const done = new Set(this.#breakable.slice(0, j + 1));
          return this.#finish(batch, from, i, d.broken, ranged, done);
        }
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
