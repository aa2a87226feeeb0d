//! libdtee_linebuf.so: what `dtee -L` preloads (LD_PRELOAD) into every
//! dynamically linked program the command starts, so that glibc's stdio
//! writes each line of stdout as it is completed instead of 4 KiB at a time
//! (README, "Why is my output out of order?"). The same idea as coreutils'
//! libstdbuf, without depending on where a distribution puts it.
//!
//! It decides as a terminal would: stdout is line-buffered only while it is
//! a socket (dtee's, or an outer dtee's), so a program whose output the
//! command sends into a file or a pipe keeps its full buffer, exactly as it
//! would under a terminal. Stderr is unbuffered, as stdio makes it anyway
//! unless the program was built otherwise.
//!
//! Built by rust/build.rs as its own crate, `no_std` with `panic=abort`: no
//! Rust runtime and no libgcc_s is loaded into every process of the command
//! tree, only this constructor (about 4 KiB).

#![no_std]

use core::ffi::{c_char, c_int, c_void};

const IOLBF: c_int = 1;
const IONBF: c_int = 2;
const SOL_SOCKET: c_int = 1;
const SO_TYPE: c_int = 3;

extern "C" {
    static mut stdout: *mut c_void;
    static mut stderr: *mut c_void;
    fn setvbuf(stream: *mut c_void, buf: *mut c_char, mode: c_int, size: usize) -> c_int;
    fn getsockopt(fd: c_int, level: c_int, name: c_int, value: *mut c_void, len: *mut u32)
        -> c_int;
}

/// Whether `fd` is a socket: getsockopt fails with ENOTSOCK on anything else.
fn is_socket(fd: c_int) -> bool {
    let mut kind: c_int = 0;
    let mut len = core::mem::size_of::<c_int>() as u32;
    // SAFETY: getsockopt writes at most `len` bytes into `kind`.
    unsafe {
        getsockopt(
            fd,
            SOL_SOCKET,
            SO_TYPE,
            &mut kind as *mut c_int as *mut c_void,
            &mut len,
        ) == 0
    }
}

extern "C" fn line_buffered() {
    // SAFETY: runs once, before main and before any stdio call of the
    // program, which is when setvbuf may be called; stdout and stderr are
    // glibc's own streams.
    unsafe {
        if is_socket(1) {
            setvbuf(stdout, core::ptr::null_mut(), IOLBF, 0);
        }
        setvbuf(stderr, core::ptr::null_mut(), IONBF, 0);
    }
}

/// Run by the dynamic loader when the library is loaded, before main.
#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = line_buffered;

/// Nothing here can panic; the handler only exists because `no_std` needs one.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
