# Sourced by scripts/dtee, .ci/run and the deno.json tasks' helpers: finds or
# installs the pinned Deno and builds the shim when its sources changed.
# Progress goes to stderr only: stdout belongs to the command being wrapped.
# Expects DTEE_ROOT to be set to the project directory.

dtee_say() { printf '%s\n' "dtee bootstrap: $*" >&2; }

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

# Sets DENO. Prefers deno on PATH; otherwise the pinned npm package in .deno/.
dtee_ensure_deno() {
	DENO=$(command -v deno 2>/dev/null) && return 0
	DENO="$DTEE_ROOT/.deno/bin/deno"
	[ -x "$DENO" ] && return 0
	local arch
	case "$(uname -m)" in
		x86_64) arch=x64 ;;
		aarch64 | arm64) arch=arm64 ;;
		*) dtee_say "no Deno build for $(uname -m)"; return 1 ;;
	esac
	command -v npm >/dev/null 2>&1 || { dtee_say "deno is not on PATH and npm is missing to install it"; return 1; }
	dtee_say "installing Deno (npm package deno, pinned in scripts/deno-pin) into .deno/"
	mkdir -p "$DTEE_ROOT/.deno/bin" &&
		cp "$DTEE_ROOT/scripts/deno-pin/package.json" "$DTEE_ROOT/scripts/deno-pin/package-lock.json" "$DTEE_ROOT/.deno/" &&
		dtee_quietly npm install --prefix "$DTEE_ROOT/.deno" --no-audit --no-fund --loglevel=error || return 1
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

# Builds LIB with cargo ARGS... when it is missing or older than any of the
# shim's sources. Only shell tests when it is up to date: no process at all.
dtee_build_if_stale() {
	local lib=$1 src
	shift
	if [ -f "$lib" ]; then
		for src in "$DTEE_ROOT"/rust/Cargo.toml "$DTEE_ROOT"/rust/src/*.rs; do
			[ "$src" -nt "$lib" ] && break
		done
		[ "$src" -nt "$lib" ] || return 0
	fi
	# A stale shim that cannot be rebuilt (no cargo after a `git pull`) is
	# still used: a cron job must run, and the ABI check refuses a mismatch.
	local fallback=1
	[ -f "$lib" ] && fallback=0
	if ! dtee_find_cargo; then
		[ "$fallback" = 0 ] && dtee_say "using the existing ${lib#"$DTEE_ROOT/"}"
		return "$fallback"
	fi
	dtee_say "building ${lib#"$DTEE_ROOT/"} (cargo build --release${*:+ $*})"
	if ! dtee_quietly "$CARGO" build --quiet --release "$@" --manifest-path "$DTEE_ROOT/rust/Cargo.toml"; then
		[ "$fallback" = 0 ] && dtee_say "build failed: using the existing ${lib#"$DTEE_ROOT/"}"
		return "$fallback"
	fi
	# cargo leaves the file untouched when nothing it depends on changed (a
	# comment-only edit): refresh it so that the check above stays cheap.
	touch "$lib"
}

dtee_ensure_shim() {
	dtee_build_if_stale "$DTEE_SHIM_LIB"
}

dtee_ensure_failpoint_shim() {
	dtee_build_if_stale "$DTEE_FAILPOINT_SHIM_LIB" --features failpoints \
		--target-dir "$DTEE_ROOT/rust/target/failpoints"
}
