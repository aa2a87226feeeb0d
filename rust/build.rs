//! Builds the preload library of `dtee -L` (preload/linebuf.rs) in the same
//! `cargo build` as the shim, and puts it beside the shim
//! (target/<profile>/libdtee_linebuf.so), where dtee finds it and
//! scripts/layout (installs, the container image) and `deno task dist` pick it up.
//!
//! It is compiled by rustc directly rather than as a crate of the
//! workspace: it must be `no_std` with `panic=abort` (no Rust runtime in
//! every process of the command tree), and the workspace's release profile
//! unwinds, which a profile cannot change for one crate. Only Linux targets
//! get one: elsewhere `-L` does without it (README, "Why is my output out of
//! order?").

use std::env;
use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "preload/linebuf.rs";
const LIBRARY: &str = "libdtee_linebuf.so";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let built = out.join(LIBRARY);
    let mut rustc = Command::new(env::var_os("RUSTC").expect("cargo sets RUSTC"));
    rustc
        .args(["--crate-name", "dtee_linebuf", "--crate-type", "cdylib"])
        .args([
            "--edition",
            "2021",
            "-C",
            "panic=abort",
            "-C",
            "opt-level=s",
        ])
        .args(["-C", "strip=symbols", "-C", "link-arg=-lc"])
        .arg("--target")
        .arg(env::var_os("TARGET").expect("cargo sets TARGET"))
        .arg("-o")
        .arg(&built)
        .arg(SOURCE);
    // A cross linker configured for the target (target.<triple>.linker).
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        rustc
            .arg("-C")
            .arg(format!("linker={}", linker.to_string_lossy()));
    }
    let status = rustc.status().expect("cannot run rustc");
    assert!(status.success(), "rustc failed to build {SOURCE}");
    // OUT_DIR is <profile dir>/build/<package>-<hash>/out. Renamed into
    // place: a program of a running `dtee -L` may have the old one mapped.
    let profile_dir = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is inside the target directory");
    let partial = profile_dir.join(format!(".{LIBRARY}.partial"));
    std::fs::copy(&built, &partial).expect("cannot copy the preload library");
    std::fs::rename(&partial, profile_dir.join(LIBRARY)).expect("cannot copy the preload library");
}
