//! The input socket and the two output sockets the command writes to.
//!
//! All three are bound in a private directory so that the receiver can tell
//! the streams apart by the sender's address; the files and the directory
//! are removed as soon as the connections exist.

use crate::abi::{socket_op, socket_who};
use crate::failable;
use crate::sys::{self, sockaddr_un, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Mutex;

/// A setup failure: `who` of `abi::socket_who`, `op` of `abi::socket_op`.
pub struct Failure {
    pub who: c_int,
    pub op: c_int,
    pub errno: c_int,
}

pub struct Opened {
    pub input: c_int,
    pub out: c_int,
    pub err: c_int,
    pub sndbuf: i64,
    pub rcvbuf: i64,
    pub max_write: i64,
}

/// Effective socket buffer the shim aims for. A datagram must fit the
/// sender's buffer less 32 bytes, and its linear part must fit one kmalloc
/// (4 MiB on Linux): beyond this size a larger buffer buys nothing but an
/// ENOBUFS instead of the documented EMSGSIZE.
const TARGET_BUFFER: c_int = 4 << 20;
/// unix_dgram_sendmsg refuses `len > sk_sndbuf - 32`.
const SNDBUF_OVERHEAD: i64 = 32;

/// The addresses of the two output sockets, so that `recv` can attribute
/// each datagram to a stream and drop those of any other sender.
pub static SENDERS: Mutex<Option<(sockaddr_un, sockaddr_un)>> = Mutex::new(None);

fn address(dir: &[u8], leaf: u8) -> Result<sockaddr_un, c_int> {
    let mut addr = sockaddr_un {
        sun_family: AF_UNIX as u16,
        sun_path: [0; 108],
    };
    // One byte for '/', one for the leaf, one for the terminating NUL.
    if dir.len() + 3 > addr.sun_path.len() {
        return Err(sys::ENAMETOOLONG);
    }
    addr.sun_path[..dir.len()].copy_from_slice(dir);
    addr.sun_path[dir.len()] = b'/';
    addr.sun_path[dir.len() + 1] = leaf;
    Ok(addr)
}

fn addr_len(addr: &sockaddr_un) -> sys::socklen_t {
    let path = addr
        .sun_path
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(addr.sun_path.len());
    (2 + path + 1) as sys::socklen_t
}

fn sockopt(fd: c_int, name: c_int) -> i64 {
    let mut value: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as sys::socklen_t;
    // SAFETY: value and len are valid for writes of the sizes given.
    let ret = unsafe {
        sys::getsockopt(
            fd,
            SOL_SOCKET,
            name,
            &mut value as *mut c_int as *mut c_void,
            &mut len,
        )
    };
    if ret < 0 {
        0
    } else {
        value as i64
    }
}

/// Raises a buffer to TARGET_BUFFER: first past the system maximum when
/// privileged, else up to net.core.[wr]mem_max. Failures are not errors: the
/// kernel's default (never below max(PIPE_BUF, BUFSIZ)) stays in force.
fn raise_buffer(fd: c_int, force: c_int, plain: c_int) -> i64 {
    if sockopt(fd, plain) < TARGET_BUFFER as i64 {
        // The kernel doubles the value it is given to allow for overhead.
        let half: c_int = TARGET_BUFFER / 2;
        let ptr = &half as *const c_int as *const c_void;
        let len = std::mem::size_of::<c_int>() as sys::socklen_t;
        // SAFETY: ptr points to a live c_int of the length given.
        unsafe {
            if failable::setsockopt(fd, SOL_SOCKET, force, ptr, len) < 0 {
                failable::setsockopt(fd, SOL_SOCKET, plain, ptr, len);
            }
        }
    }
    sockopt(fd, plain)
}

/// Has the kernel note when it queued each datagram (docs/behaviour.md B3).
/// Not an error when refused: the times are then 0 and the front end falls
/// back to the time it reads them.
fn enable_timestamps(fd: c_int) {
    let on: c_int = 1;
    // SAFETY: the value points to a live c_int of the length given.
    unsafe {
        failable::setsockopt(
            fd,
            SOL_SOCKET,
            sys::SO_TIMESTAMPNS,
            &on as *const c_int as *const c_void,
            std::mem::size_of::<c_int>() as sys::socklen_t,
        )
    };
}

/// Everything created so far, undone on failure.
struct Setup {
    dir: Vec<u8>,
    files: Vec<sockaddr_un>,
    fds: Vec<c_int>,
}

impl Setup {
    fn socket(&mut self, who: c_int) -> Result<c_int, Failure> {
        // SAFETY: plain system call with constant arguments.
        let fd = sys::check(unsafe { failable::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) })
            .map_err(|errno| Failure {
                who,
                op: socket_op::OPEN,
                errno,
            })?;
        self.fds.push(fd);
        Ok(fd)
    }

    fn bind(&mut self, fd: c_int, who: c_int, leaf: u8) -> Result<sockaddr_un, Failure> {
        let fail = |errno| Failure {
            who,
            op: socket_op::BIND,
            errno,
        };
        let addr = address(&self.dir, leaf).map_err(fail)?;
        // SAFETY: addr is a valid sockaddr_un of the length given.
        sys::check(unsafe { failable::bind(fd, &addr, addr_len(&addr)) }).map_err(fail)?;
        self.files.push(addr);
        Ok(addr)
    }

    fn output(
        &mut self,
        who: c_int,
        leaf: u8,
        input: &sockaddr_un,
    ) -> Result<(c_int, sockaddr_un), Failure> {
        let fd = self.socket(who)?;
        let addr = self.bind(fd, who, leaf)?;
        raise_buffer(fd, sys::SO_SNDBUFFORCE, sys::SO_SNDBUF);
        // SAFETY: input is a valid sockaddr_un of the length given.
        sys::check(unsafe { failable::connect(fd, input, addr_len(input)) }).map_err(|errno| {
            Failure {
                who,
                op: socket_op::CONNECT,
                errno,
            }
        })?;
        // SAFETY: plain system call on a socket we own.
        sys::check(unsafe { failable::shutdown(fd, sys::SHUT_RD) }).map_err(|errno| Failure {
            who,
            op: socket_op::SHUTDOWN,
            errno,
        })?;
        Ok((fd, addr))
    }

    /// Removes the socket files and the directory; the sockets stay usable.
    fn remove_names(&mut self) {
        for addr in self.files.drain(..) {
            // SAFETY: sun_path is NUL-terminated (address() leaves room).
            unsafe { sys::unlink(addr.sun_path.as_ptr() as *const c_char) };
        }
        let mut dir = self.dir.clone();
        dir.push(0);
        // SAFETY: dir is NUL-terminated.
        unsafe { sys::rmdir(dir.as_ptr() as *const c_char) };
    }
}

/// Creates the directory from `template` (a NUL-terminated mkdtemp pattern,
/// rewritten in place to the name used) and the three connected sockets.
pub fn open(template: &mut [u8]) -> Result<Opened, Failure> {
    // SAFETY: the caller guarantees template is NUL-terminated and writable.
    if unsafe { failable::mkdtemp(template.as_mut_ptr() as *mut c_char) }.is_null() {
        return Err(Failure {
            who: socket_who::DIRECTORY,
            op: socket_op::OPEN,
            errno: sys::errno(),
        });
    }
    let dir_len = template
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(template.len());
    let mut setup = Setup {
        dir: template[..dir_len].to_vec(),
        files: Vec::new(),
        fds: Vec::new(),
    };
    let result = build(&mut setup);
    if result.is_ok() {
        crate::failpoints::inject_foreign(&setup.dir);
    }
    setup.remove_names();
    if result.is_err() {
        for fd in setup.fds.drain(..) {
            // SAFETY: fd was opened by this setup and is not used elsewhere.
            unsafe { failable::close(fd) };
        }
    }
    result
}

fn build(setup: &mut Setup) -> Result<Opened, Failure> {
    let input = setup.socket(socket_who::INPUT)?;
    let input_addr = setup.bind(input, socket_who::INPUT, b'i')?;
    let rcvbuf = raise_buffer(input, sys::SO_RCVBUFFORCE, sys::SO_RCVBUF);
    enable_timestamps(input);
    let (out, out_addr) = setup.output(socket_who::STDOUT, b'o', &input_addr)?;
    let (err, err_addr) = setup.output(socket_who::STDERR, b'e', &input_addr)?;
    let sndbuf = sockopt(out, sys::SO_SNDBUF).min(sockopt(err, sys::SO_SNDBUF));
    *SENDERS.lock().unwrap_or_else(|e| e.into_inner()) = Some((out_addr, err_addr));
    Ok(Opened {
        input,
        out,
        err,
        sndbuf,
        rcvbuf,
        max_write: sndbuf - SNDBUF_OVERHEAD,
    })
}
