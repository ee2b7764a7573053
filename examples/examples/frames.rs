//! Frames a few messages into one stream and reads them back, showing how a
//! corrupted byte is caught by the checksum.

use murmura::core::frame::{self, FrameError, FrameLimits};

fn main() -> Result<(), FrameError> {
    let limits = FrameLimits::default();
    let mut stream = Vec::new();
    for msg in ["join", "ping", "leave"] {
        frame::encode(1, msg.as_bytes(), &limits, &mut stream)?;
    }
    let mut at = 0;
    while at < stream.len() {
        let (f, used) = frame::decode(&stream[at..], &limits)?;
        println!("v{} {:?}", f.version, String::from_utf8_lossy(f.payload));
        at += used;
    }
    stream[7] ^= 0xff;
    match frame::decode(&stream, &limits) {
        Err(e) => println!("corrupted frame rejected: {e}"),
        Ok(_) => println!("corruption went unnoticed"),
    }
    Ok(())
}
