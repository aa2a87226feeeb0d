/**
 * An inherited "ignore" stays ignore (docs/behaviour.md A7, B3): under
 * nohup (SIGHUP ignored) and as a script's background job (SIGINT and
 * SIGQUIT ignored), dtee survives what it would survive without a JSON log,
 * and the command starts with the same ignored signals whatever dtee's
 * options, as the C tool's child does (it forks before setting handlers).
 * Real nohup(1) and sh(1), no simulated dispositions.
 */
import assert from "node:assert/strict";
import { CRONTY, LAUNCHER, run, sh, withTempDir } from "./helpers.ts";

/** How a shell starts dtee with a signal ignored: under nohup, or in the background. */
const STARTS = {
  "under nohup": { signal: 1, wrap: (cmd: string) => `exec nohup ${cmd} </dev/null` },
  "as a background job": { signal: 2, wrap: (cmd: string) => `${cmd} & wait $!` },
  // Deno ignores SIGPIPE before any of dtee's code runs: only the launcher can tell.
  "with SIGPIPE ignored": { signal: 13, wrap: (cmd: string) => `trap '' PIPE; ${cmd}` },
} as const;
const NAMES: Record<number, string> = { 1: "HUP", 2: "INT", 13: "PIPE" };

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

for (const [how, { signal, wrap }] of Object.entries(STARTS)) {
  // dtee stops on a SIGPIPE sent by another process, ignored or not (docs/behaviour.md B3).
  if (signal !== 13) {
    Deno.test(`started ${how}: SIG${NAMES[signal]} to dtee is survived with -j as without it`, async () => {
      await withTempDir(async (dir) => {
        const job = `kill -${NAMES[signal]} $PPID; sleep 0.3; echo after`;
        for (const flags of [[], ["-j", `${dir}/log.jsonl`]]) {
          const cmd = [LAUNCHER, ...flags, "sh", "-c", job].map(quote).join(" ");
          const r = await sh(wrap(cmd));
          assert.equal(r.code, 0, `${flags.join(" ")}: ${r.err}`);
          assert.equal(r.out, "after\n", flags.join(" "));
          assert.equal(r.err, "", flags.join(" "));
        }
        const records = Deno.readTextFileSync(`${dir}/log.jsonl`).trimEnd().split("\n");
        const end = JSON.parse(records.at(-1)!);
        assert.equal(end.type, "end");
        assert.equal(end.exit_code, 0, records.at(-1));
        assert.equal(end.dtee_signal, undefined, records.at(-1));
      });
    });
  }

  Deno.test(`started ${how}: the command starts with the same ignored signals with -j, -q or neither`, async () => {
    await withTempDir(async (dir) => {
      const masks: Record<string, string> = {};
      const probe = (to: string) => ["sh", "-c", `grep ^SigIgn: /proc/self/status >"$0"`, to];
      const ways: Record<string, string[]> = {
        direct: probe(`${dir}/direct`),
        dtee: [LAUNCHER, ...probe(`${dir}/dtee`)],
        "dtee -j": [LAUNCHER, "-j", `${dir}/log`, ...probe(`${dir}/dtee -j`)],
        "dtee -i": [LAUNCHER, "-i", ...probe(`${dir}/dtee -i`)],
        cronty: [CRONTY, ...probe(`${dir}/cronty`)],
        "cronty -j": [CRONTY, "-j", `${dir}/log`, ...probe(`${dir}/cronty -j`)],
      };
      for (const [name, words] of Object.entries(ways)) {
        const r = await sh(wrap(words.map(quote).join(" ")));
        assert.equal(r.code, 0, `${name}: ${r.err}`);
        masks[name] = Deno.readTextFileSync(`${dir}/${name}`).trim() || `nothing from ${name}`;
      }
      // Signals 1-31: glibc keeps 32 and 33 for itself (a handler in dtee).
      const standard = (name: string) =>
        BigInt(`0x${masks[name].split(/\s+/)[1] ?? 0}`) & ((1n << 31n) - 1n);
      const bit = 1n << BigInt(signal - 1);
      assert.equal(
        standard("direct") & bit,
        bit,
        `SIG${NAMES[signal]} not ignored: ${masks.direct}`,
      );
      for (const name of Object.keys(ways)) {
        assert.equal(standard(name), standard("direct"), `${name}: ${masks[name]}`);
      }
    });
  });
}

Deno.test("a signal dtee did not inherit ignored still ends a -j run, and the log says so", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log.jsonl`;
    const r = await run(LAUNCHER, ["-j", log, "sh", "-c", "kill -HUP $PPID; sleep 5"]);
    assert.equal(r.signal, "SIGHUP", r.err);
    const end = JSON.parse(Deno.readTextFileSync(log).trimEnd().split("\n").at(-1)!);
    assert.equal(end.type, "end");
    assert.equal(end.dtee_signal, 1, JSON.stringify(end));
  });
});
