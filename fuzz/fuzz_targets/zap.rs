// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run zap -- -max_total_time=60
//
// ZAP (RFC 27) as isomq parses it: a handler's reply as a server reads it
// (`ZapReply::parse`), requests as the built-in handler answers them (`zap::Policy`), and
// the key files its CURVE allow-list reads. The input is split into frames at 0xFF 0xFE
// marker pairs; the first byte chooses the part (bits 0-1: 0 reply, 1 request, 2 key file,
// 3 all three).
//
// Checked besides "never panics": a reply that parses has a status among 200, 300, 400 and
// 500 and is the frames given; the handler answers every request, malformed or not, with
// the six frames of a reply that parses once its delimiter is put back (status 200 only for
// a user, key or NULL it accepts); a request made by `ZapRequest::frames` with the
// handler's own user or key is accepted; a key file never adds more keys than it has lines.
#![no_main]

use bytes::Bytes;
use isomq_core::security::PublicKey;
use isomq_core::zap::{Policy, ZapReply, ZapRequest};
use libfuzzer_sys::fuzz_target;

// Only its splitting of the input at markers is used here.
#[allow(dead_code)]
#[path = "zws_common.rs"]
mod zws_common;

const USER: &[u8] = b"admin";
const PASSWORD: &[u8] = b"secret";
const KEY: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

fn policy() -> Policy {
    let mut p = Policy::default();
    p.plain_user(USER, PASSWORD);
    if let Ok(key) = PublicKey::parse(KEY.as_bytes()) {
        p.curve_allow(key);
    }
    p.deny("10.0.0.66");
    p
}

fn reply(frames: &[Bytes]) {
    if let Ok(r) = ZapReply::parse(frames) {
        assert!(matches!(r.status, 200 | 300 | 400 | 500));
        assert_eq!(r.user_id, frames[5]);
        assert_eq!(r.metadata, frames[6]);
    }
}

fn request(frames: &[Bytes]) {
    let answer = policy().handle(frames);
    assert_eq!(
        answer.len(),
        6,
        "a reply has six frames after the delimiter"
    );
    let mut with_delimiter = vec![Bytes::new()];
    with_delimiter.extend(answer.iter().cloned());
    // The handler echoes the request id; a server's own requests carry id "1".
    with_delimiter[2] = Bytes::from_static(b"1");
    let parsed = ZapReply::parse(&with_delimiter).expect("the handler's reply does not parse");
    if parsed.status == 200 {
        let accepted = match frames.get(5).map(|m| &m[..]) {
            Some(b"NULL") => frames.len() == 6,
            Some(b"PLAIN") => {
                frames[6..] == [Bytes::from_static(USER), Bytes::from_static(PASSWORD)]
            }
            Some(b"CURVE") => {
                PublicKey::parse(&frames[6]).ok() == PublicKey::parse(KEY.as_bytes()).ok()
            }
            _ => false,
        };
        assert!(
            accepted,
            "status 200 for a request the policy does not accept"
        );
        assert!(
            frames[3] != b"10.0.0.66"[..],
            "a denied address was accepted"
        );
    }
    // The same credentials made into a request by the server side are accepted.
    for (mechanism, credentials) in [
        (
            "PLAIN",
            vec![Bytes::from_static(USER), Bytes::from_static(PASSWORD)],
        ),
        ("NULL", vec![]),
    ] {
        let req = ZapRequest {
            mechanism,
            credentials,
        };
        let address = frames.first().cloned().unwrap_or_default();
        let made = req.frames(b"global", &address, b"id");
        let answer = policy().handle(&made[1..]);
        let denied = address == b"10.0.0.66"[..];
        assert_eq!(
            answer[2] == b"200"[..],
            !denied,
            "{mechanism} from {address:?}"
        );
    }
}

fn key_file(text: &str) {
    let mut p = Policy::default();
    let added = p.curve_allow_key_file(text);
    assert!(added <= text.lines().count());
}

fuzz_target!(|data: &[u8]| {
    let Some((&part, rest)) = data.split_first() else {
        return;
    };
    let mut frames = Vec::new();
    zws_common::split_payloads(rest, &mut frames);
    let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
    let text = String::from_utf8_lossy(rest);
    match part & 3 {
        0 => reply(&frames),
        1 => request(&frames),
        2 => key_file(&text),
        _ => {
            reply(&frames);
            request(&frames);
            key_file(&text);
        }
    }
});
