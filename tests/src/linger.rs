//! Abrupt closes: a TCP socket set to close with a reset.

use std::io;
use std::os::fd::AsRawFd;

/// Sets SO_LINGER with a zero timeout, so that close(2) sends an RST and drops whatever is
/// unsent or unread (as a crashed host or a middlebox resets a connection).
pub fn set_linger_zero(socket: &impl AsRawFd) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::linger>()).unwrap_or(8);
    // SAFETY: the descriptor is open (borrowed from `socket`), and the option value is a
    // `linger` that lives for the call, with its size passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&linger).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
