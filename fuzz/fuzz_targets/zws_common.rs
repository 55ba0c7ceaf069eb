// What the ZWS fuzz targets share: cutting the input into WebSocket message payloads, and
// feeding them to a connection that echoes what it receives, checking that errors are sticky
// and that every byte it queues is handed out.

use bytes::Bytes;
use isomq_core::zws::{Connection, Subprotocol};

/// Appends to `payloads` the messages in `rest`, cut at 0xFF 0xFE marker pairs.
pub fn split_payloads(rest: &[u8], payloads: &mut Vec<Vec<u8>>) {
    let mut cur = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == 0xFF && rest.get(i + 1) == Some(&0xFE) {
            payloads.push(std::mem::take(&mut cur));
            i += 2;
        } else {
            cur.push(rest[i]);
            i += 1;
        }
    }
    payloads.push(cur);
}

/// Feeds each payload to `conn`, sends back every message it yields, and drains its output,
/// calling `check_out` on each payload sent (with the subprotocol spoken then). After an
/// error, `probe` (a message valid in itself) must be refused too: errors are sticky.
pub fn exercise(
    conn: &mut Connection,
    payloads: Vec<Vec<u8>>,
    probe: &'static [u8],
    check_out: impl Fn(Subprotocol, &Bytes),
) {
    for p in payloads {
        if conn.handle_message(Bytes::from(p)).is_err() {
            assert!(
                conn.handle_message(Bytes::from_static(probe)).is_err(),
                "error is not sticky"
            );
            assert!(conn.poll_msg().is_err(), "error is not sticky");
            assert!(!conn.is_ready());
            return;
        }
        while conn.poll_event().is_some() {}
        loop {
            match conn.poll_msg() {
                Ok(Some(msg)) => conn.send_msg(&msg),
                Ok(None) => break,
                Err(_) => {
                    assert!(conn.poll_msg().is_err(), "error is not sticky");
                    return;
                }
            }
        }
        let sub = conn.subprotocol();
        let mut left = conn.transmit_len();
        while let Some(out) = conn.poll_transmit() {
            assert!(!out.is_empty(), "an empty payload was produced");
            check_out(sub, &out);
            left -= out.len();
            assert_eq!(conn.transmit_len(), left);
        }
        assert_eq!(left, 0);
    }
}
