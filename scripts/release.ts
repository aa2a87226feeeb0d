/**
 * `deno task dist` and `deno task compile` (scripts/dist, scripts/compile
 * run this after building the shim), and the Deno flags each way of getting
 * dtee needs. The tests import the flags from here, so that what they run is
 * exactly what the README tells users to run.
 *
 *   deno run -A scripts/release.ts dist [DIR]       modules + shims for `deno run URL` and
 *                                                   `deno install -g URL`, man pages (dist/web)
 *   deno run -A scripts/release.ts compile [DIR]    DIR/dtee, DIR/cronty, man pages (dist)
 */
import { PLATFORM, SHIM_FILE } from "../lib/shim_loader.ts";
import { DIST, PERL_MODULE, PRELOAD_LIBRARY, RUBY_FILE } from "../lib/preload.ts";
import { writePages } from "../docs/man/man.ts";

/**
 * All that dtee needs: FFI for the shim, and the environment for $TMPDIR
 * and $DTEE_SHIM. Narrowing --allow-env to those names would protect
 * nothing (FFI can read the environment anyway) and would turn any later
 * read of another variable into a failure of the binary alone.
 */
export const PERMISSIONS = ["--allow-ffi", "--allow-env"];

/**
 * `deno run` from a URL: the raw import of the shim needs
 * --unstable-raw-imports; no --allow-import or --allow-net, since Deno
 * allows imports from the main module's own host. -q keeps Deno's download
 * lines off stderr (a cron job would mail them), and --no-config --no-lock
 * keep a deno.json or deno.lock in the current directory out of it.
 */
export const URL_RUN_FLAGS = [
  "-q",
  "--no-config",
  "--no-lock",
  "--unstable-raw-imports",
  ...PERMISSIONS,
];

/**
 * `deno install -g` from the same URL: the installed script runs `deno run` with these flags
 * (Deno writes its own empty config in place of --no-config). The name is given with -n, since
 * Deno would take `main` from main.ts.
 */
export const INSTALL_FLAGS = ["-g", ...URL_RUN_FLAGS];

/** Given to `deno compile` and so baked into the binary (the shim is a raw import there too). */
export const COMPILE_FLAGS = ["--no-config", "--no-lock", "--unstable-raw-imports", ...PERMISSIONS];

export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/+$/, "");
const DENO = Deno.execPath();

/** Shims cargo builds for other targets (`--target T`), by the platform name lib/shim_loader.ts uses. */
const CROSS_TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "linux-x86_64",
  "aarch64-unknown-linux-gnu": "linux-aarch64",
  "x86_64-apple-darwin": "darwin-x86_64",
  "aarch64-apple-darwin": "darwin-aarch64",
};

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(DENO, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

/** The project's own modules that `entry` needs, relative to ROOT. */
async function localModules(entry: string): Promise<string[]> {
  const graph = JSON.parse(await deno(["info", "--json", "--no-config", "--no-lock", entry]));
  return graph.modules
    .map((m: { local?: string }) => m.local)
    .filter((local: string | undefined) => local?.startsWith(`${ROOT}/`))
    .map((local: string) => local.slice(ROOT.length + 1));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lays out `out` for publishing at any http(s) URL: exactly the modules of
 * main.ts and cronty.ts, shim/PLATFORM/libdtee_shim.* for the host and
 * for every other target whose shim has been built (with the preload
 * library of -L for Linux targets beside it), the Perl and Ruby files of -L
 * in preload/ (lib/preload.ts), and the man pages in man/
 * (docs/man/man.ts). Replaces only what it writes, so that `out` may also
 * hold other files of the site.
 */
export async function dist(out: string): Promise<void> {
  const shims: [string, string][] = [[PLATFORM, `${ROOT}/rust/target/release/${SHIM_FILE}`]];
  for (const [target, platform] of Object.entries(CROSS_TARGETS)) {
    const ext = platform.startsWith("darwin") ? "dylib" : "so";
    const lib = `${ROOT}/rust/target/${target}/release/libdtee_shim.${ext}`;
    if (platform !== PLATFORM && await exists(lib)) shims.push([platform, lib]);
  }
  const modules = new Set([
    ...await localModules(`${ROOT}/main.ts`),
    ...await localModules(`${ROOT}/cronty.ts`),
  ]);
  const libraries: [string, string][] = [];
  for (const [platform, lib] of shims) {
    libraries.push([platform, lib]);
    const preload = lib.replace(/[^/]*$/, PRELOAD_LIBRARY);
    if (await exists(preload)) libraries.push([platform, preload]);
  }
  for (const top of ["main.ts", "cronty.ts", "lib", "shim", "preload", "man"]) {
    await Deno.remove(`${out}/${top}`, { recursive: true }).catch(() => {});
  }
  for (const module of modules) {
    await Deno.mkdir(`${out}/${module}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.copyFile(`${ROOT}/${module}`, `${out}/${module}`);
  }
  for (const [platform, lib] of libraries) {
    await Deno.mkdir(`${out}/shim/${platform}`, { recursive: true });
    await Deno.copyFile(lib, `${out}/shim/${platform}/${lib.slice(lib.lastIndexOf("/") + 1)}`);
  }
  // Where lib/preload.ts finds them, relative to lib/, as in a checkout.
  for (const file of [PERL_MODULE, RUBY_FILE] as const) {
    const path = new URL(DIST[file], `file://${ROOT}/lib/`).pathname.slice(ROOT.length + 1);
    await Deno.mkdir(`${out}/${path.replace(/\/[^/]*$/, "")}`, { recursive: true });
    await Deno.copyFile(`${ROOT}/${path}`, `${out}/${path}`);
  }
  await writePages(`${out}/man`);
  console.error(
    `dist: ${modules.size} modules, man pages and shims for ${
      shims.map(([p]) => p).join(", ")
    } in ${out}`,
  );
}

/**
 * `deno compile` downloads its runtime (denort) for the target; DENORT_BIN
 * names a local one instead (the denort of this Deno's version, for the
 * host). This project is built and tested where nothing can be downloaded,
 * so without DENORT_BIN the task fails before writing anything, saying why,
 * rather than leave a partial binary or none with a confusing network error.
 * Where downloads work (a container build), DTEE_COMPILE_DOWNLOAD=1 lets
 * `deno compile` fetch its runtime as it normally does.
 */
export async function compile(out: string): Promise<boolean> {
  const target = Deno.build.target;
  if (!Deno.env.get("DENORT_BIN") && Deno.env.get("DTEE_COMPILE_DOWNLOAD") !== "1") {
    console.error(
      "compile: not built: DENORT_BIN is not set. `deno compile` would download the Deno " +
        `runtime (denort) for ${target}, and this project is built where nothing can be ` +
        `downloaded. Set DENORT_BIN to the denort binary of Deno ${Deno.version.deno} for ` +
        `${target} (denort-${target}.zip of that release) and run it again, or set ` +
        "DTEE_COMPILE_DOWNLOAD=1 where deno compile may download it.",
    );
    return false;
  }
  await Deno.mkdir(out, { recursive: true });
  await deno([
    "compile",
    "-q",
    ...COMPILE_FLAGS,
    "-o",
    `${out}/dtee`,
    `${ROOT}/compiled_main.ts`,
  ]);
  await Deno.remove(`${out}/cronty`).catch(() => {});
  await Deno.symlink("dtee", `${out}/cronty`);
  await writePages(`${out}/man`);
  console.error(`compile: ${out}/dtee, ${out}/cronty (a symlink to it) and ${out}/man`);
  return true;
}

if (import.meta.main) {
  const [command, dir] = Deno.args;
  if (command === "dist") {
    await dist(dir ?? `${ROOT}/dist/web`);
  } else if (command === "compile") {
    if (!await compile(dir ?? `${ROOT}/dist`)) Deno.exit(1);
  } else {
    console.error("usage: release.ts dist|compile [DIR]");
    Deno.exit(64);
  }
}
