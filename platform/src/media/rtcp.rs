//! RTCP compound packets (RFC 3550 §6.4 SR/RR, §6.5 SDES CNAME, §6.6 BYE).
//!
//! [`parse_compound`] walks a compound datagram and returns the packets it
//! understands (others as [`RtcpPacket::Other`]); [`write_report`] and
//! [`write_bye`] build what a stream sends.

/// Why a datagram is not RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Shorter than a 4-byte RTCP header, or a length field past the end.
    #[error("RTCP packet is truncated")]
    Truncated,
    /// The version field is not 2.
    #[error("RTCP version is not 2")]
    BadVersion,
    /// A report count that does not fit in the packet.
    #[error("RTCP report count does not fit the packet length")]
    BadCount,
}

/// One reception report block (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// Sender information of an SR (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// NTP timestamp (64-bit fixed point).
    pub ntp: u64,
    /// RTP timestamp matching `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
}

/// A packet of a compound RTCP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report.
    SenderReport {
        /// Sender SSRC.
        ssrc: u32,
        /// Sender information.
        info: SenderInfo,
        /// Reception reports.
        reports: Vec<ReportBlock>,
    },
    /// Receiver report.
    ReceiverReport {
        /// Reporter SSRC.
        ssrc: u32,
        /// Reception reports.
        reports: Vec<ReportBlock>,
    },
    /// Source description: `(ssrc, CNAME)` pairs (other items skipped).
    SourceDescription(Vec<(u32, Option<String>)>),
    /// Goodbye from these sources.
    Bye(Vec<u32>),
    /// A packet type this module does not interpret (APP, feedback, XR).
    Other(u8),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let b = body.get(i * 24..i * 24 + 24).ok_or(RtcpError::BadCount)?;
        let w = |k: usize| be32(b, k * 4).unwrap_or_default();
        let lost_raw = w(1) & 0x00ff_ffff;
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost_raw << 8) as i32) >> 8;
        out.push(ReportBlock {
            ssrc: w(0),
            fraction_lost: (w(1) >> 24) as u8,
            cumulative_lost,
            highest_seq: w(2),
            jitter: w(3),
            last_sr: w(4),
            delay_since_last_sr: w(5),
        });
    }
    Ok(out)
}

/// Parses a compound RTCP datagram.
pub fn parse_compound(mut buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let [b0, pt, l0, l1, ..] = *buf else {
            return Err(RtcpError::Truncated);
        };
        if b0 >> 6 != 2 {
            return Err(RtcpError::BadVersion);
        }
        let len = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
        let pkt = buf.get(..len).ok_or(RtcpError::Truncated)?;
        buf = &buf[len..];
        let count = usize::from(b0 & 0x1f);
        let body = &pkt[4..];
        let ssrc = be32(body, 0);
        out.push(match pt {
            200 => {
                let ssrc = ssrc.ok_or(RtcpError::Truncated)?;
                let info = body.get(4..24).ok_or(RtcpError::Truncated)?;
                let w = |k: usize| be32(info, k * 4).unwrap_or_default();
                RtcpPacket::SenderReport {
                    ssrc,
                    info: SenderInfo {
                        ntp: u64::from(w(0)) << 32 | u64::from(w(1)),
                        rtp_timestamp: w(2),
                        packet_count: w(3),
                        octet_count: w(4),
                    },
                    reports: parse_blocks(&body[24..], count)?,
                }
            }
            201 => RtcpPacket::ReceiverReport {
                ssrc: ssrc.ok_or(RtcpError::Truncated)?,
                reports: parse_blocks(body.get(4..).unwrap_or_default(), count)?,
            },
            202 => RtcpPacket::SourceDescription(parse_sdes(body, count)?),
            203 => {
                let ids = (0..count)
                    .map(|i| be32(body, i * 4).ok_or(RtcpError::BadCount))
                    .collect::<Result<_, _>>()?;
                RtcpPacket::Bye(ids)
            }
            other => RtcpPacket::Other(other),
        });
    }
    Ok(out)
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<(u32, Option<String>)>, RtcpError> {
    let mut out = Vec::with_capacity(count.min(31));
    let mut at = 0;
    for _ in 0..count {
        let ssrc = be32(body, at).ok_or(RtcpError::BadCount)?;
        at += 4;
        let mut cname = None;
        loop {
            let kind = *body.get(at).ok_or(RtcpError::Truncated)?;
            if kind == 0 {
                // Items end with a null; the chunk pads to 32 bits.
                at = (at + 4) & !3;
                break;
            }
            let len = usize::from(*body.get(at + 1).ok_or(RtcpError::Truncated)?);
            let text = body.get(at + 2..at + 2 + len).ok_or(RtcpError::Truncated)?;
            if kind == 1 {
                cname = Some(String::from_utf8_lossy(text).into_owned());
            }
            at += 2 + len;
        }
        out.push((ssrc, cname));
    }
    Ok(out)
}

fn write_header(out: &mut Vec<u8>, count: u8, pt: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count & 0x1f), pt, 0, 0]);
    start
}

fn finish(out: &mut Vec<u8>, start: usize) {
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn write_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
    out.extend_from_slice(&(u32::from(b.fraction_lost) << 24 | lost).to_be_bytes());
    out.extend_from_slice(&b.highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.last_sr.to_be_bytes());
    out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
}

fn write_sdes(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    let start = write_header(out, 1, 202);
    out.extend_from_slice(&ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    out.push(1);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.push(0);
    finish(out, start);
}

/// Appends a compound report: an SR when `info` is given (we sent media
/// since the last report), otherwise an RR, then an SDES with `cname`.
pub fn write_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    info: Option<&SenderInfo>,
    block: Option<&ReportBlock>,
    cname: &str,
) {
    let count = u8::from(block.is_some());
    let start = write_header(out, count, if info.is_some() { 200 } else { 201 });
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(i) = info {
        out.extend_from_slice(&i.ntp.to_be_bytes());
        out.extend_from_slice(&i.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&i.packet_count.to_be_bytes());
        out.extend_from_slice(&i.octet_count.to_be_bytes());
    }
    if let Some(b) = block {
        write_block(out, b);
    }
    finish(out, start);
    write_sdes(out, ssrc, cname);
}

/// Appends a compound BYE: an empty RR, SDES and BYE (§6.6 requires the
/// report first).
pub fn write_bye(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    write_report(out, ssrc, None, None, cname);
    let start = write_header(out, 1, 203);
    out.extend_from_slice(&ssrc.to_be_bytes());
    finish(out, start);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_report_round_trip() {
        let info = SenderInfo {
            ntp: 0x1122_3344_5566_7788,
            rtp_timestamp: 160,
            packet_count: 3,
            octet_count: 480,
        };
        let block = ReportBlock {
            ssrc: 9,
            fraction_lost: 25,
            cumulative_lost: -2,
            highest_seq: 70_000,
            jitter: 12,
            last_sr: 0x3344_5566,
            delay_since_last_sr: 65536,
        };
        let mut buf = Vec::new();
        write_report(&mut buf, 7, Some(&info), Some(&block), "vxp@host");
        let pkts = parse_compound(&buf).unwrap();
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::SenderReport {
                    ssrc: 7,
                    info,
                    reports: vec![block]
                },
                RtcpPacket::SourceDescription(vec![(7, Some("vxp@host".into()))]),
            ]
        );
        assert!(super::super::rtp::is_rtcp(&buf));
    }

    #[test]
    fn receiver_report_and_bye() {
        let mut buf = Vec::new();
        write_bye(&mut buf, 5, "abc");
        let pkts = parse_compound(&buf).unwrap();
        assert_eq!(
            pkts,
            vec![
                RtcpPacket::ReceiverReport {
                    ssrc: 5,
                    reports: vec![]
                },
                RtcpPacket::SourceDescription(vec![(5, Some("abc".into()))]),
                RtcpPacket::Bye(vec![5]),
            ]
        );
    }

    #[test]
    fn bad_rtcp_is_rejected() {
        assert_eq!(parse_compound(&[0x80, 200]), Err(RtcpError::Truncated));
        assert_eq!(
            parse_compound(&[0x40, 200, 0, 0]),
            Err(RtcpError::BadVersion)
        );
        assert_eq!(
            parse_compound(&[0x80, 201, 0, 9, 0, 0, 0, 1]),
            Err(RtcpError::Truncated)
        );
        // RR claiming 3 blocks in a packet holding none.
        assert_eq!(
            parse_compound(&[0x83, 201, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::BadCount)
        );
        // SDES item running past the end.
        assert_eq!(
            parse_compound(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 200, 0, 0]),
            Err(RtcpError::Truncated)
        );
        assert_eq!(
            parse_compound(&[0x80, 204, 0, 0]),
            Ok(vec![RtcpPacket::Other(204)])
        );
        let mut buf = Vec::new();
        write_bye(&mut buf, 5, "abc");
        for n in 0..buf.len() {
            assert_eq!(
                parse_compound(&buf[..n]).is_ok(),
                n == 0 || n == 8 || n == 24,
                "{n}"
            );
        }
    }
}
