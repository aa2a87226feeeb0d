# Sourced by scripts/build, test, check, compile, dist and bench/run, and
# run by the launcher (rust/src/bin/dtee.rs) and scripts/dtee when Deno or
# the shim is missing or stale: finds or installs the pinned Deno and builds
# the shim and the launcher when their sources changed. Progress goes to
# stderr only: stdout belongs to the command being wrapped. Sets DTEE_ROOT
# to the project directory, the one this file is in.

DTEE_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)

dtee_say() { printf '%s\n' "dtee bootstrap: $*" >&2; }

# Says that a step which builds or installs something starts; the first one
# starts the clock that dtee_done reports.
dtee_step() {
	DTEE_BOOT_START=${DTEE_BOOT_START:-$(dtee_now_us)}
	dtee_say "$@"
}

# Microseconds since the epoch, whatever the locale's decimal separator.
dtee_now_us() { printf '%s\n' "${EPOCHREALTIME//[!0-9]/}"; }

# The closing line of a bootstrap that built or installed something: that
# it is done and how long it took. A run that built nothing says nothing.
dtee_done() {
	[ -n "${DTEE_BOOT_START:-}" ] || return 0
	local us=$(($(dtee_now_us) - DTEE_BOOT_START))
	DTEE_BOOT_START=
	dtee_say "done in $((us / 1000000)).$((us / 100000 % 10)) s; later runs start at once"
}

# Runs "${@:2}" with a line on stderr every 5 s for as long as it lasts,
# saying that it is still at it ($1: building, installing) and how long so far: a first build takes 15 to 25 s, and that long a silence
# looks like a hang. The step stays in the foreground (Ctrl-C reaches it);
# the ticker runs beside it, holds no pipe but stderr, and stops with it or
# with this shell.
dtee_with_progress() {
	local doing=$1 start=$SECONDS status
	shift
	(
		while sleep 5 </dev/null >/dev/null 2>&1 && kill -0 $$ 2>/dev/null; do
			dtee_say "still $doing ($((SECONDS - start)) s so far)"
		done
	) &
	local ticker=$!
	"$@"
	status=$?
	kill "$ticker" 2>/dev/null
	wait "$ticker" 2>/dev/null
	return "$status"
}

# Runs a bootstrap step with its output on stderr, or nowhere when stderr is
# closed (a cron job may start dtee that way; the step must still run).
dtee_quietly() {
	# The failed redirection's own complaint goes to the closed stderr.
	if true >&2; then
		"$@" >&2
	else
		"$@" >/dev/null 2>&1
	fi
}

# The Deno version pinned in scripts/deno-pin/package.json.
dtee_pinned_deno_version() {
	sed -n 's/.*"deno": *"\([^"]*\)".*/\1/p' "$DTEE_ROOT/scripts/deno-pin/package.json"
}

# Sets DENO to .deno/bin/deno, the runtime every way of running dtee from
# the checkout uses (rust/src/bin/dtee.rs runs nothing else). When it is
# missing, links it to a deno on PATH of exactly the pinned version, or
# installs the pinned npm package into .deno/.
dtee_ensure_deno() {
	DENO="$DTEE_ROOT/.deno/bin/deno"
	[ -x "$DENO" ] && return 0
	local pinned found
	pinned=$(dtee_pinned_deno_version)
	if found=$(command -v deno 2>/dev/null) && [ -n "$pinned" ] &&
		[ "$("$found" --version 2>/dev/null | sed -n '1s/^deno \([^ ]*\).*/\1/p')" = "$pinned" ]; then
		dtee_say "using $found (Deno $pinned, the pinned version)"
		mkdir -p "$DTEE_ROOT/.deno/bin" && ln -sf "$found" "$DENO" && return 0
	fi
	local arch
	case "$(uname -m)" in
		x86_64) arch=x64 ;;
		aarch64 | arm64) arch=arm64 ;;
		*) dtee_say "no Deno build for $(uname -m)"; return 1 ;;
	esac
	command -v npm >/dev/null 2>&1 || { dtee_say "Deno $pinned is not on PATH and npm is missing to install it"; return 1; }
	dtee_step "installing Deno (npm package deno, pinned in scripts/deno-pin) into .deno/"
	mkdir -p "$DTEE_ROOT/.deno/bin" &&
		cp "$DTEE_ROOT/scripts/deno-pin/package.json" "$DTEE_ROOT/scripts/deno-pin/package-lock.json" "$DTEE_ROOT/.deno/" &&
		dtee_with_progress installing dtee_quietly npm install --prefix "$DTEE_ROOT/.deno" --no-audit --no-fund --loglevel=error || return 1
	# The platform package holds the real binary; linking it directly skips
	# the package's node wrapper (and does not depend on its install script).
	local os=linux
	[ "$(uname -s)" = Darwin ] && os=darwin
	local real
	for real in "$DTEE_ROOT/.deno/node_modules/@deno/$os-$arch-glibc/deno" "$DTEE_ROOT/.deno/node_modules/@deno/$os-$arch/deno"; do
		[ -x "$real" ] && ln -sf "../${real#"$DTEE_ROOT/.deno/"}" "$DENO" && return 0
	done
	dtee_say "the npm package did not provide a Deno binary for $os-$arch"
	return 1
}

# Sets CARGO, looking in ~/.cargo/bin when cargo is not on PATH.
dtee_find_cargo() {
	CARGO=$(command -v cargo 2>/dev/null) && return 0
	CARGO="$HOME/.cargo/bin/cargo"
	[ -x "$CARGO" ] && return 0
	CARGO=
	dtee_say "cargo not found on PATH or in ~/.cargo/bin: cannot build the shim"
	return 1
}

# The release shim, and the fault-injection shim (feature `failpoints`, see
# rust/src/failpoints.rs) that tests/faults_test.ts loads through DTEE_SHIM;
# kept apart so that the release build never contains the failpoints.
dtee_lib_ext=so
[[ $OSTYPE == darwin* ]] && dtee_lib_ext=dylib
DTEE_SHIM_LIB="$DTEE_ROOT/rust/target/release/libdtee_shim.$dtee_lib_ext"
DTEE_FAILPOINT_SHIM_LIB="$DTEE_ROOT/rust/target/failpoints/release/libdtee_shim.$dtee_lib_ext"

# Whether any source of the shim, the launcher or the preload library
# (rust/src/bin/dtee.rs's newest_source lists the same) is newer than FILE.
dtee_rust_newer_than() {
	local src
	for src in "$DTEE_ROOT"/rust/Cargo.toml "$DTEE_ROOT"/rust/*.rs "$DTEE_ROOT"/rust/src/*.rs "$DTEE_ROOT"/rust/src/bin/*.rs "$DTEE_ROOT"/rust/preload/*.rs; do
		[ "$src" -nt "$1" ] && return 0
	done
	return 1
}

# Builds LIB with cargo ARGS... when it is missing or older than any of the
# shim's or the launcher's sources. Only shell tests when it is up to date.
dtee_build_if_stale() {
	local lib=$1
	shift
	if [ -f "$lib" ] && ! dtee_rust_newer_than "$lib"; then
		return 0
	fi
	# A stale shim that cannot be rebuilt (no cargo after a `git pull`, a
	# checkout that cannot be written) is still used: a cron job must run,
	# and the ABI check refuses a mismatch. Where nothing can be written,
	# not even the notice, it is used silently.
	local fallback=1
	[ -f "$lib" ] && fallback=0
	[ "$fallback" = 0 ] && [ ! -w "${lib%/*}" ] && return 0
	if [ "$fallback" = 0 ] && ! dtee_find_cargo 2>/dev/null; then
		dtee_stale_notice "$lib" "cargo not found: using the existing ${lib#"$DTEE_ROOT/"}"
		return 0
	fi
	dtee_find_cargo || return 1
	dtee_step "building ${lib#"$DTEE_ROOT/"} (cargo build --release${*:+ $*})"
	if ! dtee_cargo build --lib "$@"; then
		[ "$fallback" = 0 ] && dtee_stale_notice "$lib" "build failed: using the existing ${lib#"$DTEE_ROOT/"}"
		return "$fallback"
	fi
	# cargo leaves the file untouched when nothing it depends on changed (a
	# comment-only edit, or a change to the launcher only): refresh it so
	# that the check above stays cheap.
	touch "$lib"
}

# A stale LIB that cannot be rebuilt is reported once per change of the
# sources, not on every run (a cron job would mail it every time): the
# notice file LIB.noticed, newer than every source, says it was. The
# native launcher does not even start the bootstrap then. Where the notice
# file cannot be written (a read-only checkout), nothing is said at all
# rather than the same line on every run.
dtee_stale_notice() {
	local lib=$1
	shift
	if dtee_rust_newer_than "$lib.noticed" && touch "$lib.noticed" 2>/dev/null; then
		dtee_say "$* (said once until rust/ changes again)"
	fi
	# The caller goes on using LIB.
	true
}

# cargo COMMAND ARGS... for the release profile, with progress lines; its
# own output goes to stderr, or with --silently nowhere.
dtee_cargo() {
	local run=dtee_quietly
	[ "$1" = --silently ] && run=dtee_discard && shift
	local command=$1
	shift
	dtee_with_progress building "$run" "$CARGO" "$command" --quiet --release \
		--manifest-path "$DTEE_ROOT/rust/Cargo.toml" "$@"
}

dtee_discard() { "$@" >/dev/null 2>&1; }

# The release shim, the native launcher (rust/src/bin/dtee.rs) and the
# bundle it runs. The launcher is linked statically where the C library
# allows it: it starts about 0.3 ms sooner without the dynamic loader, and
# it runs on every run.
dtee_ensure_shim() {
	dtee_build_if_stale "$DTEE_SHIM_LIB" || return 1
	dtee_ensure_bundle
	dtee_ensure_launcher
	dtee_done
}

dtee_ensure_launcher() {
	local launcher="$DTEE_ROOT/rust/target/release/dtee"
	[ "$launcher" -nt "$DTEE_SHIM_LIB" ] || [ "$launcher" -ot "$DTEE_SHIM_LIB" ] || return 0
	dtee_find_cargo 2>/dev/null || return 0
	dtee_step "building ${launcher#"$DTEE_ROOT/"}, the native launcher"
	dtee_cargo --silently rustc --bin dtee -- -C target-feature=+crt-static ||
		dtee_cargo build --bin dtee || return 0
	touch -r "$DTEE_SHIM_LIB" "$launcher"
}

# main.ts and lib/ as one generated module, which the launcher runs while it
# is newer than all of them (docs/architecture.md, "Performance": one module starts ~3 ms
# sooner than fifteen). At build/, one level below the root like lib/, so
# that lib/shim_loader.ts finds the shim at the same relative path. A
# failure is said once per change of the sources (as for the shim, with
# DTEE_BUNDLE.noticed) and never fails the caller: the launcher runs main.ts
# instead. Deno's cache is the launcher's (.deno/dir), not one in HOME.
DTEE_BUNDLE="$DTEE_ROOT/build/dtee.js"
dtee_ensure_bundle() {
	local src stale=0
	[ -f "$DTEE_BUNDLE" ] || stale=1
	for src in "$DTEE_ROOT"/main.ts "$DTEE_ROOT"/lib/*.ts; do
		[ "$src" -nt "$DTEE_BUNDLE" ] && stale=1
	done
	[ "$stale" = 1 ] || return 0
	# A checkout that cannot be written (a read-only mount, another user's)
	# keeps its old bundle's place silently: the launcher runs main.ts, and
	# a cron job is not mailed on every run.
	mkdir -p "${DTEE_BUNDLE%/*}" 2>/dev/null && [ -w "${DTEE_BUNDLE%/*}" ] || return 0
	local tmp="$DTEE_BUNDLE.$$"
	if DENO_DIR="$DTEE_ROOT/.deno/dir" DENO_NO_UPDATE_CHECK=1 dtee_quietly \
			"${DENO:-$DTEE_ROOT/.deno/bin/deno}" bundle -q --no-config --no-lock --platform deno \
			-o "$tmp" "$DTEE_ROOT/main.ts" && mv -f "$tmp" "$DTEE_BUNDLE"; then
		return 0
	fi
	rm -f "$tmp" 2>/dev/null
	for src in "$DTEE_ROOT"/main.ts "$DTEE_ROOT"/lib/*.ts; do
		[ "$src" -nt "$DTEE_BUNDLE.noticed" ] && break
	done
	if [ "$src" -nt "$DTEE_BUNDLE.noticed" ] && touch "$DTEE_BUNDLE.noticed" 2>/dev/null; then
		dtee_say "cannot bundle main.ts into ${DTEE_BUNDLE#"$DTEE_ROOT/"}: the launcher runs main.ts (said once until lib/ changes again)"
	fi
	return 0
}

dtee_ensure_failpoint_shim() {
	dtee_build_if_stale "$DTEE_FAILPOINT_SHIM_LIB" --features failpoints \
		--target-dir "$DTEE_ROOT/rust/target/failpoints" || return 1
	dtee_done
}
