//! Message framing on stream transports (RFC 3261 §18.3): bytes read from a
//! TCP connection go in, whole messages come out, delimited by the header
//! section's empty line and Content-Length.
//!
//! Partial reads wait for more bytes, one read may carry several messages,
//! keep-alive CRLFs (RFC 5626 §3.5.1) are skipped, and bytes that cannot
//! start a message (garbage, a bad Content-Length) are dropped up to the next
//! line that looks like a start line, so one bad frame does not wedge the
//! connection.

use super::header::full_name;
use super::message::{MAX_MESSAGE_SIZE, header_end};

/// Why the framer dropped bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Bytes that do not start with a start line were skipped.
    #[error("skipped {0} bytes that do not start a SIP message")]
    Garbage(usize),
    /// A header section or body exceeded [`MAX_MESSAGE_SIZE`].
    #[error("message larger than {MAX_MESSAGE_SIZE} bytes dropped")]
    TooLarge,
    /// A message with a missing or malformed Content-Length was dropped.
    #[error("message without a valid Content-Length dropped")]
    ContentLength,
}

/// Splits a byte stream into SIP messages.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the connection.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held waiting for the rest of a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message's bytes, an error for skipped bytes, or
    /// `None` when more input is needed. Call until `None`.
    pub fn poll_message(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        let skip = self
            .buf
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(self.buf.len());
        self.buf.drain(..skip);
        if self.buf.is_empty() {
            return None;
        }
        let Some(line_end) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > MAX_MESSAGE_SIZE {
                let n = self.buf.len();
                self.buf.clear();
                return Some(Err(FrameError::Garbage(n)));
            }
            return None;
        };
        if !looks_like_start_line(&self.buf[..line_end]) {
            return Some(Err(self.resync()));
        }
        let Some((head_len, body_start)) = header_end(&self.buf) else {
            if self.buf.len() > MAX_MESSAGE_SIZE {
                self.resync();
                return Some(Err(FrameError::TooLarge));
            }
            return None;
        };
        let Some(length) = content_length(&self.buf[..head_len]) else {
            self.resync();
            return Some(Err(FrameError::ContentLength));
        };
        let total = body_start.saturating_add(length);
        if total > MAX_MESSAGE_SIZE {
            self.resync();
            return Some(Err(FrameError::TooLarge));
        }
        if self.buf.len() < total {
            return None;
        }
        let rest = self.buf.split_off(total);
        Some(Ok(std::mem::replace(&mut self.buf, rest)))
    }

    /// Drops the first line and everything up to the next plausible start
    /// line; returns how much was dropped.
    fn resync(&mut self) -> FrameError {
        let mut cut = self.buf.len();
        let mut i = 0;
        while let Some(nl) = self.buf[i..].iter().position(|b| *b == b'\n') {
            let start = i + nl + 1;
            let end = self.buf[start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(self.buf.len(), |e| start + e);
            if start < self.buf.len() && looks_like_start_line(&self.buf[start..end]) {
                cut = start;
                break;
            }
            i = start;
        }
        self.buf.drain(..cut);
        FrameError::Garbage(cut)
    }
}

/// `SIP/2.0 NNN ...` or `METHOD uri SIP/2.0`.
fn looks_like_start_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.starts_with(b"SIP/2.0 ") {
        return true;
    }
    line.ends_with(b" SIP/2.0")
        && line
            .iter()
            .take_while(|b| **b != b' ')
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

/// Content-Length from a header section (§18.3: mandatory on streams).
fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split('\n').skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        full_name(name.trim())
            .eq_ignore_ascii_case("Content-Length")
            .then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn partial_reads_wait_for_the_whole_message() {
        let mut f = StreamFramer::new();
        for chunk in MSG.chunks(7) {
            assert_eq!(f.poll_message(), None);
            f.handle_bytes(chunk);
        }
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
        assert_eq!(f.poll_message(), None);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn several_messages_in_one_read_with_keepalives() {
        let mut f = StreamFramer::new();
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(MSG);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(MSG);
        input.extend_from_slice(&MSG[..10]);
        f.handle_bytes(&input);
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
        assert_eq!(f.poll_message(), None);
        f.handle_bytes(&MSG[10..]);
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
    }

    #[test]
    fn garbage_is_skipped_up_to_the_next_start_line() {
        let mut f = StreamFramer::new();
        let mut input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        input.extend_from_slice(MSG);
        f.handle_bytes(&input);
        assert!(matches!(
            f.poll_message(),
            Some(Err(FrameError::Garbage(_)))
        ));
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
    }

    #[test]
    fn missing_content_length_drops_the_message_only() {
        let mut f = StreamFramer::new();
        let mut input =
            b"BYE sip:h SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: x\r\n\r\n".to_vec();
        input.extend_from_slice(MSG);
        f.handle_bytes(&input);
        assert_eq!(f.poll_message(), Some(Err(FrameError::ContentLength)));
        assert_eq!(f.poll_message(), Some(Ok(MSG.to_vec())));
    }

    #[test]
    fn compact_content_length_frames() {
        let mut f = StreamFramer::new();
        f.handle_bytes(b"SIP/2.0 200 OK\r\nl: 2\r\n\r\nokSIP/2.0 100 Trying\r\nl:0\r\n\r\n");
        assert_eq!(
            f.poll_message(),
            Some(Ok(b"SIP/2.0 200 OK\r\nl: 2\r\n\r\nok".to_vec()))
        );
        assert_eq!(
            f.poll_message(),
            Some(Ok(b"SIP/2.0 100 Trying\r\nl:0\r\n\r\n".to_vec()))
        );
    }

    #[test]
    fn endless_garbage_is_bounded() {
        let mut f = StreamFramer::new();
        f.handle_bytes(&vec![b'x'; MAX_MESSAGE_SIZE + 1]);
        assert_eq!(
            f.poll_message(),
            Some(Err(FrameError::Garbage(MAX_MESSAGE_SIZE + 1)))
        );
        assert_eq!(f.buffered(), 0);
    }
}
