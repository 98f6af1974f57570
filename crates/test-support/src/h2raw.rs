//! HTTP/2 spoken by hand, for tests that must behave as no well-mannered client would: open
//! more streams than the server allows, send half a preface, read the server's settings.
//! Frames are written and read as bytes (RFC 9113 §4); header blocks use only HPACK literals
//! without indexing (RFC 7541 §6.2.2), which every decoder accepts.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types used here.
pub mod kind {
    /// DATA.
    pub const DATA: u8 = 0x0;
    /// HEADERS.
    pub const HEADERS: u8 = 0x1;
    /// RST_STREAM.
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS.
    pub const SETTINGS: u8 = 0x4;
    /// GOAWAY.
    pub const GOAWAY: u8 = 0x7;
}

/// SETTINGS_MAX_CONCURRENT_STREAMS.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_INITIAL_WINDOW_SIZE.
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
/// The RST_STREAM code a server refuses a stream beyond its limit with.
pub const REFUSED_STREAM: u32 = 0x7;

/// One frame as read.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Its type.
    pub kind: u8,
    /// Its flags.
    pub flags: u8,
    /// Its stream.
    pub stream: u32,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The settings of a SETTINGS frame, as (identifier, value) pairs.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|chunk| {
                (
                    u16::from_be_bytes([chunk[0], chunk[1]]),
                    u32::from_be_bytes([chunk[2], chunk[3], chunk[4], chunk[5]]),
                )
            })
            .collect()
    }

    /// The error code of a RST_STREAM frame.
    pub fn error_code(&self) -> Option<u32> {
        let bytes: [u8; 4] = self.payload.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }
}

/// A connection on which frames are written and read by hand.
#[derive(Debug)]
pub struct RawConnection {
    /// The socket.
    pub stream: TcpStream,
}

impl RawConnection {
    /// Connects to `addr` and sends the preface and an empty SETTINGS frame, or `settings`.
    pub async fn open(addr: std::net::SocketAddr, settings: &[(u16, u32)]) -> RawConnection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let mut connection = RawConnection { stream };
        connection.write_raw(PREFACE).await;
        let payload: Vec<u8> = settings
            .iter()
            .flat_map(|(id, value)| {
                let mut entry = id.to_be_bytes().to_vec();
                entry.extend_from_slice(&value.to_be_bytes());
                entry
            })
            .collect();
        connection.write_frame(kind::SETTINGS, 0, 0, &payload).await;
        connection
    }

    /// Writes bytes as they are.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Writes one frame.
    pub async fn write_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let length = u32::try_from(payload.len()).expect("frame length");
        let mut frame = length.to_be_bytes()[1..].to_vec();
        frame.push(kind);
        frame.push(flags);
        frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        frame.extend_from_slice(payload);
        self.write_raw(&frame).await;
    }

    /// Opens stream `stream` with a POST to `path` and these extra headers, leaving the request
    /// body open (END_HEADERS, no END_STREAM) unless `end` is set.
    pub async fn request(
        &mut self,
        stream: u32,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        end: bool,
    ) {
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]
        .iter()
        .chain(headers)
        {
            literal(&mut block, name, value);
        }
        let flags = 0x4 | if end { 0x1 } else { 0 };
        self.write_frame(kind::HEADERS, flags, stream, &block).await;
    }

    /// Reads the next frame; `None` when the server closed the connection.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        let mut head = [0u8; 9];
        self.stream.read_exact(&mut head).await.ok()?;
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; length];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(Frame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Reads frames until one matches, for at most `within`; `None` if none did (or the
    /// connection closed first).
    pub async fn read_until(
        &mut self,
        within: Duration,
        mut wanted: impl FnMut(&Frame) -> bool,
    ) -> Option<Frame> {
        tokio::time::timeout(within, async {
            loop {
                let frame = self.read_frame().await?;
                if wanted(&frame) {
                    return Some(frame);
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Whether the server closes the connection within `within` (reading and dropping whatever
    /// it still sends).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut sink = [0u8; 4096];
        tokio::time::timeout(within, async {
            loop {
                match self.stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    }
}

/// Whether a connection to `addr` that sends `bytes` and then nothing is closed by the server
/// within `within`.
pub async fn closed_after_sending(
    addr: std::net::SocketAddr,
    bytes: &[u8],
    within: Duration,
) -> bool {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut connection = RawConnection { stream };
    connection.write_raw(bytes).await;
    connection.closed_within(within).await
}

/// Appends one header as an HPACK literal without indexing, with a literal name.
fn literal(block: &mut Vec<u8>, name: &str, value: &str) {
    block.push(0x00);
    integer(block, name.len(), 7, 0);
    block.extend_from_slice(name.as_bytes());
    integer(block, value.len(), 7, 0);
    block.extend_from_slice(value.as_bytes());
}

/// An HPACK integer with an `prefix`-bit prefix (RFC 7541 §5.1); the string is not Huffman-coded.
fn integer(block: &mut Vec<u8>, mut value: usize, prefix: u8, flags: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        block.push(flags | value as u8);
        return;
    }
    block.push(flags | max as u8);
    value -= max;
    while value >= 128 {
        block.push((value % 128 + 128) as u8);
        value /= 128;
    }
    block.push(value as u8);
}
