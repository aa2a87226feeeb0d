/**
 * The annotator (lib/annotate.ts) on batches built by hand: lines and their
 * times, unfinished lines cut by the other stream and continued as `S+`,
 * several lines in one write, bytes that are not UTF-8, the `I:` lines, and
 * a property: taking the prefixes and dtee's newlines away gives back every
 * stream's exact bytes.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Mask, Stream } from "../lib/abi.ts";
import { Annotator, finishedText, seconds, shellWords } from "../lib/annotate.ts";
import type { MessageBatch } from "../lib/jsonlog.ts";
import { decodeBytes } from "../lib/text.ts";
import { TimeFormat, TimeStamper } from "../lib/timeformat.ts";
import { fixedZone, prng } from "./helpers.ts";

const S = 1_000_000_000n;
const utc = fixedZone(0, "UTC");

/** Stamps that are easy to read: seconds.milliseconds since the start. */
const annotator = () => new Annotator(new TimeStamper(TimeFormat.parse("%@.s"), utc));

type Msg = [stream: number, bytes: string | Uint8Array, ms: number];

function batch(messages: Msg[]): MessageBatch {
  const slotSize = 4096;
  const data = new Uint8Array(slotSize * messages.length);
  const lens = new Uint32Array(messages.length);
  const streams = new Uint8Array(messages.length);
  const times = new BigInt64Array(messages.length);
  messages.forEach(([stream, bytes, ms], i) => {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    data.set(b, i * slotSize);
    lens[i] = b.length;
    streams[i] = stream;
    times[i] = BigInt(ms) * 1_000_000n;
  });
  return { data, slotSize, lens, streams, times };
}

const O = Stream.stdout;
const E = Stream.stderr;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The whole annotated run of `messages`, delivered in batches of `per`. */
function annotate(messages: Msg[], per = messages.length, end = 5000): string {
  const a = annotator();
  let out = text(a.started(0n, ["sh", "-c", "echo 'hi'"]));
  for (let i = 0; i < messages.length; i += per) {
    const b = batch(messages.slice(i, i + per));
    out += text(a.messages(b, 0, b.lens.length));
  }
  return out + text(a.finished(BigInt(end) * 1_000_000n, { kind: "exited", code: 0 }, ""));
}

Deno.test("one line per line, stamped with the time of the write that began it", () => {
  strictEqual(
    annotate([[O, "one\n", 1], [E, "two\n", 2], [O, "three\n", 3]]),
    "0.000000 I: Started sh -c 'echo '\\''hi'\\'''\n" +
      "0.001000 O: one\n" +
      "0.002000 E: two\n" +
      "0.003000 O: three\n" +
      "5.000000 I: Finished in 5.000000 s: exited with status 0\n",
  );
});

Deno.test("a line written in pieces has the time of its first piece", () => {
  const got = annotate([[O, "a", 1], [O, "b", 2], [O, "c\nd", 3], [O, "e\n", 4]], 1);
  strictEqual(got.split("\n").slice(1, 3).join("\n"), "0.001000 O: abc\n0.003000 O: de");
});

Deno.test("a multi-line write: every line it begins has its time", () => {
  const got = annotate([[E, "x\ny\n\nz\n", 7]]);
  strictEqual(
    got.split("\n").slice(1, 5).join("\n"),
    "0.007000 E: x\n0.007000 E: y\n0.007000 E: \n0.007000 E: z",
  );
});

Deno.test("interleaved unfinished lines: ended where the other stream writes, continued as S+", () => {
  const messages: Msg[] = [
    [O, "progress: 10%", 1],
    [E, "warning: ", 2],
    [O, " 20%", 3],
    [E, "disk slow\n", 4],
    [O, "\n", 5],
    [O, "done", 6],
  ];
  const want = "0.001000 O: progress: 10%\n" +
    "0.002000 E: warning: \n" +
    "0.003000 O+  20%\n" +
    "0.004000 E+ disk slow\n" +
    "0.005000 O+ \n" +
    "0.006000 O: done\n" +
    "5.000000 I: Finished in 5.000000 s: exited with status 0\n";
  // The same whether the messages come in one batch or one by one.
  for (const per of [1, 2, 6]) {
    strictEqual(annotate(messages, per).split("\n").slice(1).join("\n"), want);
  }
});

Deno.test("bytes that are not UTF-8, NUL and CR stay exactly as written", () => {
  const a = annotator();
  a.started(0n, ["x"]);
  const bytes = new Uint8Array([0xff, 0x00, 0x0d, 0xe2, 0x82, 0x0a]);
  const out = a.messages(batch([[O, bytes, 1]]), 0, 1);
  deepStrictEqual([...out.subarray(out.length - 6)], [...bytes]);
  strictEqual(text(out.subarray(0, out.length - 6)), "0.001000 O: ");
});

Deno.test("zero-length writes and foreign senders make no line; a mask picks one stream", () => {
  const a = annotator();
  a.started(0n, ["x"]);
  const b = batch([[O, "", 1], [0, "foreign\n", 2], [E, "err\n", 3], [O, "out\n", 4]]);
  strictEqual(text(a.messages(b, 0, 4, Mask.stdout)), "0.004000 O: out\n");
  strictEqual(text(a.messages(b, 0, 4, Mask.stderr)), "0.003000 E: err\n");
});

Deno.test("one stream at a time (dtee's own streams): cut() says when the other's newline is due", () => {
  const a = annotator();
  a.started(0n, ["x"]);
  strictEqual(text(a.messages(batch([[O, "half", 1]]), 0, 1, Mask.stdout)), "0.001000 O: half");
  strictEqual(a.cut(E), true);
  strictEqual(a.cut(E), false);
  strictEqual(text(a.messages(batch([[E, "err", 2]]), 0, 1, Mask.stderr)), "0.002000 E: err");
  strictEqual(a.close(), E);
  strictEqual(a.close(), 0);
  strictEqual(text(a.messages(batch([[O, "rest\n", 3]]), 0, 1, Mask.stdout)), "0.003000 O+ rest\n");
});

Deno.test("I: lines: exit status, signal, core, dtee's own signal; a new run starts afresh", () => {
  const a = annotator();
  a.started(0n, ["x"]);
  a.messages(batch([[O, "open", 1]]), 0, 1);
  strictEqual(
    text(a.finished(2500000n, { kind: "signaled", signal: 9, coreDumped: false }, "Killed")),
    "\n0.002500 I: Finished in 0.002500 s: terminated by signal 9 (Killed)\n",
  );
  strictEqual(text(a.started(10n * S, ["y"])), "0.000000 I: Started y\n");
  strictEqual(text(a.messages(batch([[O, "new\n", 10001]]), 0, 1)), "0.001000 O: new\n");
  strictEqual(
    finishedText({ kind: "signaled", signal: 11, coreDumped: true }, "Segmentation fault", 1n),
    "Finished in 0.000000 s: terminated by signal 11 (Segmentation fault), core dumped",
  );
  strictEqual(
    finishedText({ kind: "dtee-signaled", signal: 15 }, "Terminated", 3n * S),
    "Interrupted after 3.000000 s: dtee received signal 15 (Terminated)",
  );
  strictEqual(
    finishedText(
      { kind: "timed-out", after: "3s", process: { kind: "exited", code: 0 } },
      "",
      3n * S,
    ),
    "Finished in 3.000000 s: timed out after 3s, then exited with status 0",
  );
  strictEqual(seconds(-1500000n), "-0.001500");
});

Deno.test("command words as a shell takes them back, on one line", () => {
  const words = [
    "ls",
    "-la",
    "",
    "a b",
    "it's",
    "line\nbreak",
    "tab\there",
    decodeBytes(new Uint8Array([0xff, 0x41])),
    "é",
  ];
  strictEqual(
    text(shellWords(words)),
    "ls -la '' 'a b' 'it'\\''s' $'line\\nbreak' $'tab\\there' $'\\xffA' 'é'",
  );
});

Deno.test("property: without prefixes and dtee's newlines, each stream's bytes come back exactly", () => {
  const rand = prng(19);
  for (let round = 0; round < 200; round++) {
    const messages: Msg[] = [];
    const sent = { [O]: [] as number[], [E]: [] as number[] };
    for (let i = 0, n = 1 + Math.floor(rand() * 12); i < n; i++) {
      const stream = rand() < 0.5 ? O : E;
      const bytes = Uint8Array.from({ length: Math.floor(rand() * 6) }, () => {
        const r = rand();
        return r < 0.3 ? 0x0a : r < 0.4 ? 0xff : 0x61 + Math.floor(rand() * 3);
      });
      messages.push([stream, bytes, i]);
      sent[stream].push(...bytes);
    }
    const a = annotator();
    a.started(0n, ["x"]);
    const chunks: number[] = [];
    for (let i = 0; i < messages.length;) {
      const per = 1 + Math.floor(rand() * 4);
      const b = batch(messages.slice(i, i + per));
      chunks.push(...a.messages(b, 0, b.lens.length));
      i += per;
    }
    chunks.push(...a.finished(0n, { kind: "exited", code: 0 }, ""));
    // Split into lines; each but the last has a prefix "T S: " or "T S+ ".
    const back = { [O]: [] as number[], [E]: [] as number[] };
    const lines: number[][] = [[]];
    for (const b of chunks) {
      lines[lines.length - 1].push(b);
      if (b === 0x0a) lines.push([]);
    }
    lines.pop();
    // A line whose successor in the same stream is an S+ line ended with dtee's newline.
    const parsed = lines.map((line) => {
      const sep = line.indexOf(0x20);
      return { stream: line[sep + 1], mark: line[sep + 2], body: line.slice(sep + 4) };
    }).filter((l) => l.stream !== 0x49); // I:
    parsed.forEach((l, k) => {
      const stream = l.stream === 0x4f ? O : E;
      const next = parsed.slice(k + 1).find((m) => m.stream === l.stream);
      const cut = next?.mark === 0x2b;
      // The stream's last line: its newline is dtee's if the stream did not end with one.
      const last = next === undefined && sent[stream].at(-1) !== 0x0a;
      back[stream].push(...(cut || last ? l.body.slice(0, -1) : l.body));
    });
    deepStrictEqual(
      back,
      sent,
      `round ${round}: ${JSON.stringify(messages.map(([s, b]) => [s, text(b as Uint8Array)]))}`,
    );
  }
});

Deno.test("B6 shows every form of the I: line at the end of a run, as finishedText writes it", () => {
  const doc = Deno.readTextFileSync(new URL("../docs/behaviour.md", import.meta.url));
  const b6 = doc.slice(doc.indexOf("### B6."), doc.indexOf("### B7.")).replace(/\s+/g, " ");
  const signaled = { kind: "signaled", signal: 15, coreDumped: false } as const;
  const timedOut = { kind: "timed-out", after: "0.5s", process: signaled } as const;
  const shown = finishedText(timedOut, "Terminated", 503120000n);
  ok(b6.includes(`I: ${shown}`), shown);
  for (
    const form of [
      "I: Finished in D s: exited with status N",
      "I: Finished in D s: terminated by signal N (NAME)",
      "I: Interrupted after D s: dtee received signal N (NAME)",
    ]
  ) ok(b6.includes(form), form);
});
