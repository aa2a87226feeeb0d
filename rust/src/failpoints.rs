//! Fault injection for tests (cargo feature `failpoints`, never in the
//! release build): makes a chosen system call fail with a chosen errno on its
//! Nth use, as listed in the environment variable `DTEE_FAILPOINTS`:
//!
//! ```text
//! DTEE_FAILPOINTS="bind=2:13,recv=1:5,write=3+:28,foreign"
//! ```
//!
//! `NAME=N:ERRNO` fails the Nth call of NAME (counting from 1) with ERRNO;
//! `NAME=N+:ERRNO` fails the Nth and every later call. A name may appear more
//! than once. Names: socket, bind, connect, shutdown, close, setsockopt,
//! mkdtemp, mkostemp, fork (the clone that makes the command's process),
//! exec (the command's exec, in the child; only for a spawned command),
//! waitpid, recv (recvmmsg; only
//! calls that find a datagram queued count, so that the Nth is the Nth time
//! there is something to read), write (every writev of data: outputs,
//! dtee's stdout/stderr, the buffer file, messages), buffer_write (writev to
//! the cron buffer file only), lseek, fcntl (every call) and fcntl_setfl
//! (F_SETFL only). A failed close still closes
//! the descriptor, as Linux does.
//!
//! The bare word `foreign` is a test hook, not a failure: right after the
//! sockets are set up, three datagrams from foreign senders (an unbound
//! socket, one bound to another name in the socket directory, one with an
//! abstract address) are queued on the input socket; dtee must ignore them.
//!
//! The wrappers in `failable.rs` consult `fail()` only with the feature; without
//! it the helpers below are empty and the wrappers are the plain calls.

#[cfg(not(feature = "failpoints"))]
mod imp {
    use std::ffi::c_int;

    #[inline(always)]
    pub fn set_buffer_fd(_fd: c_int) {}

    #[inline(always)]
    pub fn is_buffer_fd(_fd: c_int) -> bool {
        false
    }

    #[inline(always)]
    pub fn counts_recv(_fd: c_int) -> bool {
        false
    }

    #[inline(always)]
    pub fn inject_foreign(_dir: &[u8]) {}

    #[inline(always)]
    pub fn exec_errno() -> c_int {
        0
    }
}

#[cfg(feature = "failpoints")]
mod imp {
    use crate::sys::{self, sockaddr_un, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM};
    use std::ffi::{c_char, c_int, c_void};
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Mutex, OnceLock};

    /// The environment variable read once, on first use.
    pub const VARIABLE: &str = "DTEE_FAILPOINTS";

    struct Rule {
        name: String,
        nth: u64,
        onwards: bool,
        errno: c_int,
    }

    struct Table {
        rules: Vec<Rule>,
        foreign: bool,
    }

    static TABLE: OnceLock<Table> = OnceLock::new();
    static COUNTS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    static BUFFER_FD: AtomicI32 = AtomicI32::new(-1);

    fn parse(spec: &str) -> Table {
        let mut table = Table {
            rules: Vec::new(),
            foreign: false,
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "foreign" {
                table.foreign = true;
                continue;
            }
            let rule = item.split_once('=').and_then(|(name, rest)| {
                let (when, errno) = rest.split_once(':')?;
                let (when, onwards) = match when.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (when, false),
                };
                Some(Rule {
                    name: name.to_string(),
                    nth: when.parse().ok()?,
                    onwards,
                    errno: errno.parse().ok()?,
                })
            });
            match rule {
                Some(rule) => table.rules.push(rule),
                // A typo must not silently test nothing.
                None => panic!("{VARIABLE}: cannot parse {item:?}"),
            }
        }
        table
    }

    fn table() -> &'static Table {
        TABLE.get_or_init(|| parse(&std::env::var(VARIABLE).unwrap_or_default()))
    }

    /// Counts one call of `name`; the errno to fail it with, if a rule says so.
    pub fn fail(name: &str) -> Option<c_int> {
        let table = table();
        if !table.rules.iter().any(|r| r.name == name) {
            return None;
        }
        let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let n = match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                counts.push((name.to_string(), 1));
                1
            }
        };
        table
            .rules
            .iter()
            .find(|r| r.name == name && (n == r.nth || (r.onwards && n > r.nth)))
            .map(|r| r.errno)
    }

    /// The errno the spawned command's exec is to fail with, or 0: decided
    /// before the child exists, as the child may not allocate or lock.
    pub fn exec_errno() -> c_int {
        fail("exec").unwrap_or(0)
    }

    pub fn set_buffer_fd(fd: c_int) {
        BUFFER_FD.store(fd, Ordering::SeqCst);
    }

    pub fn is_buffer_fd(fd: c_int) -> bool {
        fd >= 0 && BUFFER_FD.load(Ordering::SeqCst) == fd
    }

    /// Whether a recvmmsg on `fd` now counts: only when a datagram is queued.
    pub fn counts_recv(fd: c_int) -> bool {
        if !table().rules.iter().any(|r| r.name == "recv") {
            return false;
        }
        let mut pfd = sys::pollfd {
            fd,
            events: sys::POLLIN,
            revents: 0,
        };
        // SAFETY: pfd is a live pollfd.
        unsafe { sys::poll(&mut pfd, 1, 0) > 0 && pfd.revents != 0 }
    }

    fn unix_address(path: &[u8]) -> (sockaddr_un, sys::socklen_t) {
        let mut addr = sockaddr_un {
            sun_family: AF_UNIX as u16,
            sun_path: [0; 108],
        };
        let n = path.len().min(addr.sun_path.len() - 1);
        addr.sun_path[..n].copy_from_slice(&path[..n]);
        (addr, (2 + n) as sys::socklen_t)
    }

    /// Sends `text` to `to` from a new socket, bound to `from` when given.
    /// Panics (an error at the ABI boundary) if it cannot: a hook that
    /// silently did nothing would make its test pass for nothing.
    fn send_from(from: Option<&[u8]>, to: &[u8], text: &[u8]) {
        let (to, to_len) = unix_address(to);
        // SAFETY: plain system calls on a socket owned here; the addresses
        // are valid for the lengths given.
        unsafe {
            let fd = sys::raw::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "foreign: socket: errno {}", sys::errno());
            if let Some(from) = from {
                let (addr, len) = unix_address(from);
                let ret = sys::raw::bind(fd, &addr, len);
                assert!(ret == 0, "foreign: bind: errno {}", sys::errno());
            }
            let sent = sys::sendto(
                fd,
                text.as_ptr() as *const c_void,
                text.len(),
                sys::MSG_DONTWAIT,
                &to,
                to_len,
            );
            assert!(sent >= 0, "foreign: sendto: errno {}", sys::errno());
            sys::raw::close(fd);
        }
    }

    /// The `foreign` hook: queues datagrams from senders other than the two
    /// output sockets on the input socket in `dir` (still named).
    pub fn inject_foreign(dir: &[u8]) {
        if !table().foreign {
            return;
        }
        let input = [dir, b"/i"].concat();
        send_from(None, &input, b"FOREIGN-UNBOUND\n");
        let other = [dir, b"/f"].concat();
        send_from(Some(&other), &input, b"FOREIGN-BOUND\n");
        let mut name = other.clone();
        name.push(0);
        // SAFETY: name is NUL-terminated.
        unsafe { sys::unlink(name.as_ptr() as *const c_char) };
        // An abstract address whose text is that of the stdout socket.
        let abstract_name = [b"\0", dir, b"/o"].concat();
        send_from(Some(&abstract_name), &input, b"FOREIGN-ABSTRACT\n");
    }
}

pub use imp::*;
