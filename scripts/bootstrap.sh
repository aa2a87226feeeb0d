# Sourced by scripts/dtee, .ci/run and the deno.json tasks' helpers: finds or
# installs the pinned Deno and builds the shim when its sources changed.
# Progress goes to stderr only: stdout belongs to the command being wrapped.
# Expects DTEE_ROOT to be set to the project directory.

dtee_say() { printf '%s\n' "dtee bootstrap: $*" >&2; }

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
		npm install --prefix "$DTEE_ROOT/.deno" --no-audit --no-fund --loglevel=error >&2 || return 1
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

DTEE_SHIM_LIB="$DTEE_ROOT/rust/target/release/libdtee_shim.so"
[[ $OSTYPE == darwin* ]] && DTEE_SHIM_LIB="$DTEE_ROOT/rust/target/release/libdtee_shim.dylib"

# Builds the release shim when it is missing or older than any of its sources.
# Uses only shell tests so that a run with an up-to-date shim costs no process.
dtee_ensure_shim() {
	local stale=0 src
	if [ -f "$DTEE_SHIM_LIB" ]; then
		for src in "$DTEE_ROOT"/rust/Cargo.toml "$DTEE_ROOT"/rust/src/*.rs; do
			[ "$src" -nt "$DTEE_SHIM_LIB" ] && stale=1 && break
		done
	else
		stale=1
	fi
	[ "$stale" = 0 ] && return 0
	dtee_find_cargo || return 1
	dtee_say "building the shim (cargo build --release)"
	"$CARGO" build --quiet --release --manifest-path "$DTEE_ROOT/rust/Cargo.toml" >&2 || return 1
	# cargo leaves the file untouched when nothing changed (e.g. only a
	# comment's file was touched): refresh it so the check above stays cheap.
	touch "$DTEE_SHIM_LIB"
}
