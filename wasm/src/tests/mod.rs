//! The platform-independent part over inproc://, with an environment that has no WebSocket.

use std::cell::RefCell;
use std::rc::Rc;

use isomq_core::{Error, Msg, SocketType};

mod batch;
mod close;
mod net;

use crate::host::{ConnKey, Host, SocketEvent, TimerKey, Ws};
use crate::{Context, SocketOption};

#[derive(Default)]
struct NoNetwork {
    events: RefCell<Vec<(u64, SocketEvent)>>,
}

impl Host for NoNetwork {
    fn open(&self, _: &str, _: &[String], _: ConnKey) -> Result<Box<dyn Ws>, Error> {
        Err(Error::ProtoNoSupport("no network in unit tests".into()))
    }
    fn set_timer(&self, _: u32, _: TimerKey) {}
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    fn cancel_timers(&self, _: ConnKey) {}
    fn random(&self) -> u64 {
        4
    }
    // Tests need repeatable bytes; a page gets crypto.getRandomValues.
    fn fill_random(&self, buf: &mut [u8]) -> isomq_core::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        Ok(())
    }
    fn emit(&self, socket: u64, event: SocketEvent) {
        self.events.borrow_mut().push((socket, event));
    }
}

fn context() -> (Context, Rc<NoNetwork>) {
    let host = Rc::new(NoNetwork::default());
    (Context::with_host(host.clone()), host)
}

fn frames(parts: &[&str]) -> Vec<Msg> {
    parts.iter().map(|p| Msg::from(*p)).collect()
}

fn texts(msg: Vec<Msg>) -> Vec<String> {
    msg.iter()
        .map(|m| String::from_utf8(m.to_vec()).unwrap())
        .collect()
}

#[test]
fn push_pull_over_inproc_keeps_multipart_messages_whole() {
    let (ctx, _) = context();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    pull.bind("inproc://jobs").unwrap();
    push.connect("inproc://jobs").unwrap();
    push.send_multipart(frames(&["job", "1"])).unwrap();
    push.send_multipart(frames(&["job", "2"])).unwrap();
    assert_eq!(texts(pull.recv_multipart().unwrap()), ["job", "1"]);
    assert_eq!(texts(pull.recv_multipart().unwrap()), ["job", "2"]);
    assert_eq!(pull.recv_multipart(), Err(Error::Again));
}

#[test]
fn connect_before_bind_is_delivered_once_bound() {
    let (ctx, _) = context();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://later").unwrap();
    push.send_multipart(frames(&["early"])).unwrap();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://later").unwrap();
    assert_eq!(texts(pull.recv_multipart().unwrap()), ["early"]);
}

#[test]
fn pub_sub_over_inproc_filters_by_prefix() {
    let (ctx, _) = context();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    publisher.bind("inproc://metrics").unwrap();
    sub.connect("inproc://metrics").unwrap();
    sub.subscribe(b"cpu").unwrap();
    for topic in ["mem", "cpu", "disk", "cpu0"] {
        publisher.send_multipart(frames(&[topic, "42"])).unwrap();
    }
    assert_eq!(texts(sub.recv_multipart().unwrap()), ["cpu", "42"]);
    assert_eq!(texts(sub.recv_multipart().unwrap()), ["cpu0", "42"]);
    assert_eq!(sub.recv_multipart(), Err(Error::Again));
}

#[test]
fn sndhwm_makes_push_wait_and_a_read_wakes_it() {
    let (ctx, host) = context();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndHwm(2)).unwrap();
    pull.set_option(SocketOption::RcvHwm(2)).unwrap();
    pull.bind("inproc://hwm").unwrap();
    push.connect("inproc://hwm").unwrap();
    let mut sent = 0;
    while push.send_multipart(frames(&["x"])).is_ok() {
        sent += 1;
        assert!(sent < 100, "HWM never reached");
    }
    // libzmq's inproc HWM is the sum of the sender's SNDHWM and the receiver's RCVHWM.
    assert_eq!(sent, 4);
    host.events.borrow_mut().clear();
    while pull.recv_multipart().is_ok() {}
    assert!(host
        .events
        .borrow()
        .contains(&(push.id(), SocketEvent::Wake)));
    push.send_multipart(frames(&["x"])).unwrap();
}

#[test]
fn a_page_cannot_bind_or_use_tcp() {
    let (ctx, _) = context();
    let s = ctx.socket(SocketType::Sub).unwrap();
    assert!(matches!(
        s.bind("ws://127.0.0.1:5555/x"),
        Err(Error::ProtoNoSupport(_))
    ));
    assert!(matches!(
        s.connect("tcp://127.0.0.1:5555"),
        Err(Error::ProtoNoSupport(_))
    ));
    assert!(matches!(s.connect("ws://"), Err(Error::Inval(_))));
}

#[test]
fn closed_socket_reports_term() {
    let (ctx, _) = context();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.close();
    assert_eq!(pull.recv(), Err(Error::Term));
}

/// The bug this guards against: a DEALER that connected to an inproc name before its ROUTER
/// bound never wrote its routing id into the parked pipe, so the ROUTER took the first data
/// frame for the peer's identity. libzmq: the ROUTER receives `[dealer's id, payload]`.
#[test]
fn connect_before_bind_gives_a_router_the_dealers_routing_id() {
    let (ctx, _) = context();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    dealer
        .set_option(SocketOption::RoutingId(b"dealer-1".to_vec()))
        .unwrap();
    dealer.connect("inproc://x").unwrap();
    dealer.send_multipart(frames(&["payload"])).unwrap();
    let router = ctx.socket(SocketType::Router).unwrap();
    router.bind("inproc://x").unwrap();
    assert_eq!(
        texts(router.recv_multipart().unwrap()),
        ["dealer-1", "payload"]
    );
    // And the reply finds its way back by that id.
    router
        .send_multipart(frames(&["dealer-1", "reply"]))
        .unwrap();
    assert_eq!(texts(dealer.recv_multipart().unwrap()), ["reply"]);
}

/// Every option of the core's table can be set and read from JavaScript: its name must be
/// in the typings the npm package ships, inside `SocketOptions`.
#[test]
fn every_core_option_is_in_the_js_typings() {
    let dts = include_str!("../../../js/index.d.ts");
    let start = dts.find("export interface SocketOptions {").unwrap();
    let body = &dts[start..start + dts[start..].find("\n}").unwrap()];
    for name in crate::OptionName::ALL {
        let field = format!("    {}?:", name.js_name());
        assert!(
            body.contains(&field),
            "{} ({}) is missing from js/index.d.ts",
            name.js_name(),
            name.libzmq_name()
        );
    }
}

/// The options of a wasm socket are the core's: defaults, validation and getters are one
/// table on both hosts.
#[test]
fn options_read_back_and_are_validated_as_natively() {
    use crate::OptionName;
    use std::time::Duration;
    let (ctx, _) = context();
    let dealer = ctx.socket(SocketType::Dealer).unwrap();
    assert_eq!(
        dealer.get_option(OptionName::ReconnectIvlMax).unwrap(),
        SocketOption::ReconnectIvlMax(Duration::ZERO)
    );
    dealer
        .set_option(SocketOption::ReconnectIvl(Some(Duration::from_millis(250))))
        .unwrap();
    assert_eq!(
        dealer.options().unwrap().reconnect_ivl,
        Some(Duration::from_millis(250))
    );
    assert!(matches!(
        dealer.set_option(SocketOption::RoutingId(Vec::new())),
        Err(Error::Inval(_))
    ));
    assert!(matches!(
        dealer.set_option(SocketOption::ReqRelaxed(true)),
        Err(Error::Inval(_))
    ));
    assert!(matches!(
        dealer.get_option(OptionName::Subscribe),
        Err(Error::Inval(_))
    ));
}
