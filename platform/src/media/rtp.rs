//! RTP packets (RFC 3550 §5.1, §5.3.1): zero-copy parse and build.
//!
//! [`RtpPacket::parse`] accepts CSRC lists, header extensions and padding,
//! and rejects (never panics on) truncated or inconsistent datagrams.
//! [`RtpHeader::write`] prints a header followed by a payload.

/// Why a datagram is not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet of {0} bytes is shorter than the fixed header")]
    TooShort(usize),
    /// The version field is not 2.
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// The CSRC list or header extension runs past the end.
    #[error("RTP header runs past the end of the packet")]
    Truncated,
    /// The padding count is zero or larger than the payload.
    #[error("RTP padding length is invalid")]
    BadPadding,
}

/// A header extension (§5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The profile-defined 16 bits.
    pub profile: u16,
    /// The extension data (a multiple of 4 bytes).
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit (first packet of a talkspurt, for audio).
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    csrc: &'a [u8],
    /// Header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The payload without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses a datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let [b0, b1, s0, s1, t0, t1, t2, t3, i0, i1, i2, i3, rest @ ..] = buf else {
            return Err(RtpError::TooShort(buf.len()));
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padding = b0 & 0x20 != 0;
        let has_ext = b0 & 0x10 != 0;
        let cc = usize::from(b0 & 0x0f);
        let (csrc, rest) = rest.split_at_checked(cc * 4).ok_or(RtpError::Truncated)?;
        let (extension, mut payload) = if has_ext {
            let [p0, p1, l0, l1, rest @ ..] = rest else {
                return Err(RtpError::Truncated);
            };
            let len = usize::from(u16::from_be_bytes([*l0, *l1])) * 4;
            let (data, rest) = rest.split_at_checked(len).ok_or(RtpError::Truncated)?;
            (
                Some(RtpExtension {
                    profile: u16::from_be_bytes([*p0, *p1]),
                    data,
                }),
                rest,
            )
        } else {
            (None, rest)
        };
        if padding {
            let n = usize::from(*payload.last().ok_or(RtpError::BadPadding)?);
            if n == 0 || n > payload.len() {
                return Err(RtpError::BadPadding);
            }
            payload = &payload[..payload.len() - n];
        }
        Ok(RtpPacket {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7f,
            sequence: u16::from_be_bytes([*s0, *s1]),
            timestamp: u32::from_be_bytes([*t0, *t1, *t2, *t3]),
            ssrc: u32::from_be_bytes([*i0, *i1, *i2, *i3]),
            csrc,
            extension,
            payload,
        })
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Whether a datagram on a shared port looks like RTCP rather than RTP
/// (RFC 5761 §4: payload types 64–95 with the marker bit are RTCP).
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

/// The fields of an outgoing RTP header (no CSRCs, no extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Appends the 12-byte header and `payload` to `out`.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.reserve(12 + payload.len());
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses() {
        let h = RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 65535,
            timestamp: 0xdead_beef,
            ssrc: 0x0102_0304,
        };
        let mut buf = Vec::new();
        h.write(&[1, 2, 3], &mut buf);
        assert_eq!(buf.len(), 15);
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.marker);
        assert_eq!(
            (p.payload_type, p.sequence, p.timestamp, p.ssrc),
            (8, 65535, 0xdead_beef, 0x0102_0304)
        );
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.csrcs().count(), 0);
        assert!(!is_rtcp(&buf));
    }

    #[test]
    fn csrc_extension_and_padding() {
        let mut buf = vec![0xb2, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]);
        buf.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9]);
        buf.extend_from_slice(&[7, 7, 0, 0, 3]);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![10, 11]);
        assert_eq!(
            p.extension,
            Some(RtpExtension {
                profile: 0xbede,
                data: &[9, 9, 9, 9]
            })
        );
        assert_eq!(p.payload, &[7, 7]);
    }

    #[test]
    fn bad_input_is_rejected() {
        assert_eq!(RtpPacket::parse(&[]), Err(RtpError::TooShort(0)));
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort(11)));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        // 15 CSRCs announced, none present.
        assert_eq!(
            RtpPacket::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            Err(RtpError::Truncated)
        );
        // Extension length past the end.
        assert_eq!(
            RtpPacket::parse(&[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Err(RtpError::Truncated)
        );
        // Padding larger than the payload, or zero.
        assert_eq!(
            RtpPacket::parse(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9]),
            Err(RtpError::BadPadding)
        );
        assert_eq!(
            RtpPacket::parse(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Err(RtpError::BadPadding)
        );
        assert_eq!(
            RtpPacket::parse(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpError::BadPadding)
        );
        // Every truncation inside the 24-byte header is an error.
        let mut buf = vec![0x91, 0x80, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        buf.extend_from_slice(&[0, 1, 0, 1, 1, 2, 3, 4, 5, 6]);
        for n in 0..buf.len() {
            assert_eq!(RtpPacket::parse(&buf[..n]).is_ok(), n >= 24, "{n}");
        }
    }
}
