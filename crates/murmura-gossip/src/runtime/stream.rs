//! Push-pull over TCP: one frame out, one frame back.

use std::io;

use murmura_core::frame::{HEADER_LEN, TRAILER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one whole frame (header, payload, checksum), refusing lengths above
/// `max` before reading them.
pub(crate) async fn read_frame(s: &mut TcpStream, max: usize) -> io::Result<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    s.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut buf = vec![0u8; HEADER_LEN + len + TRAILER_LEN];
    buf[..HEADER_LEN].copy_from_slice(&header);
    s.read_exact(&mut buf[HEADER_LEN..]).await?;
    Ok(buf)
}

/// Sends `request` and reads the answer.
pub(crate) async fn exchange(
    to: std::net::SocketAddr,
    request: &[u8],
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(to).await?;
    s.set_nodelay(true)?;
    s.write_all(request).await?;
    s.flush().await?;
    read_frame(&mut s, max).await
}
