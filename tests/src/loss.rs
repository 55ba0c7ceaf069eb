//! Numbered message streams across a lost connection, and the check of what may be lost
//! (docs/wire.md §7.6): of the messages the lost connection took from the sender's queue
//! (`MonitorEvent::Disconnected::messages_out`), the peer may have received a prefix only;
//! every message after them must arrive, in order, over the next connection.

/// A stream's message `seq`: the number as text, so that a peer process can print it.
pub fn seq_frame(seq: u64) -> Vec<u8> {
    seq.to_string().into_bytes()
}

/// Message `seq` padded with spaces to `len` bytes, for streams whose size matters.
pub fn seq_padded(seq: u64, len: usize) -> Vec<u8> {
    let mut m = seq_frame(seq);
    m.resize(len.max(m.len()), b' ');
    m
}

/// The number in a frame made by [`seq_frame`] or [`seq_padded`]; panics on anything
/// else.
pub fn parse_seq(frame: &[u8]) -> u64 {
    std::str::from_utf8(frame)
        .ok()
        .and_then(|s| s.trim_end_matches(' ').parse().ok())
        .unwrap_or_else(|| panic!("not a sequence number: {frame:?}"))
}

/// Checks what a receiver got of messages `0..sent` when the first connection, which took
/// messages `0..taken` from the sender's queue, was lost and a second one carried the
/// rest. Connections are fair-queued at the receiver, so the two runs may interleave; each
/// must be in order. Returns how many of the lost connection's messages arrived.
///
/// # Panics
/// When a message outside the lost connection's share is missing, duplicated or out of
/// order, or the lost connection's messages that arrived are not a prefix of its share.
pub fn assert_only_window_lost(received: &[u64], sent: u64, taken: u64) -> u64 {
    assert!(
        taken <= sent,
        "the connection took {taken} of {sent} messages"
    );
    let first: Vec<u64> = received.iter().copied().filter(|&s| s < taken).collect();
    let rest: Vec<u64> = received.iter().copied().filter(|&s| s >= taken).collect();
    let arrived = u64::try_from(first.len()).unwrap_or(u64::MAX);
    assert!(
        first.iter().copied().eq(0..arrived),
        "the lost connection's messages that arrived are not a prefix 0..{arrived} in order"
    );
    if !rest.iter().copied().eq(taken..sent) {
        let mut sorted = rest.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let missing = (taken..sent)
            .filter(|s| sorted.binary_search(s).is_err())
            .collect::<Vec<_>>();
        assert!(
            missing.is_empty(),
            "{} messages the lost connection never took were lost (first: {:?}); it took \
             0..{taken}, {arrived} of them arrived",
            missing.len(),
            missing.first()
        );
        panic!("the messages after the lost connection's share arrived out of order or twice");
    }
    arrived
}

#[cfg(test)]
mod tests {
    use super::assert_only_window_lost;

    #[test]
    fn accepts_a_lost_tail_of_the_share_only() {
        assert_eq!(assert_only_window_lost(&[0, 1, 5, 2, 6, 7], 8, 5), 3);
        assert_eq!(assert_only_window_lost(&[3, 4], 5, 3), 0);
    }

    #[test]
    #[should_panic(expected = "never took")]
    fn refuses_a_gap_after_the_share() {
        assert_only_window_lost(&[0, 1, 2, 4], 5, 2);
    }

    #[test]
    #[should_panic(expected = "prefix")]
    fn refuses_a_hole_inside_what_arrived_of_the_share() {
        assert_only_window_lost(&[0, 2, 3], 4, 3);
    }
}
