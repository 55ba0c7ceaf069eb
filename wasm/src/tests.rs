//! The platform-independent part over inproc://, with an environment that has no WebSocket.

use std::cell::RefCell;
use std::rc::Rc;

use isomq_core::{Error, Msg, SocketType};

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
    fn cancel_timers(&self, _: ConnKey) {}
    fn random(&self) -> u64 {
        4
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
    push.connect("inproc://jobs", None).unwrap();
    assert!(push.send(frames(&["job", "1"])).unwrap());
    assert!(push.send(frames(&["job", "2"])).unwrap());
    assert_eq!(texts(pull.recv().unwrap().unwrap()), ["job", "1"]);
    assert_eq!(texts(pull.recv().unwrap().unwrap()), ["job", "2"]);
    assert_eq!(pull.recv().unwrap(), None);
}

#[test]
fn connect_before_bind_is_delivered_once_bound() {
    let (ctx, _) = context();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://later", None).unwrap();
    assert!(push.send(frames(&["early"])).unwrap());
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://later").unwrap();
    assert_eq!(texts(pull.recv().unwrap().unwrap()), ["early"]);
}

#[test]
fn pub_sub_over_inproc_filters_by_prefix() {
    let (ctx, _) = context();
    let publisher = ctx.socket(SocketType::Pub).unwrap();
    let sub = ctx.socket(SocketType::Sub).unwrap();
    publisher.bind("inproc://metrics").unwrap();
    sub.connect("inproc://metrics", None).unwrap();
    sub.subscribe(b"cpu").unwrap();
    for topic in ["mem", "cpu", "disk", "cpu0"] {
        assert!(publisher.send(frames(&[topic, "42"])).unwrap());
    }
    assert_eq!(texts(sub.recv().unwrap().unwrap()), ["cpu", "42"]);
    assert_eq!(texts(sub.recv().unwrap().unwrap()), ["cpu0", "42"]);
    assert_eq!(sub.recv().unwrap(), None);
}

#[test]
fn sndhwm_makes_push_wait_and_a_read_wakes_it() {
    let (ctx, host) = context();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_option(SocketOption::SndHwm(2)).unwrap();
    pull.set_option(SocketOption::RcvHwm(2)).unwrap();
    pull.bind("inproc://hwm").unwrap();
    push.connect("inproc://hwm", None).unwrap();
    let mut sent = 0;
    while push.send(frames(&["x"])).unwrap() {
        sent += 1;
        assert!(sent < 100, "HWM never reached");
    }
    // libzmq's inproc HWM is the sum of the sender's SNDHWM and the receiver's RCVHWM.
    assert_eq!(sent, 4);
    host.events.borrow_mut().clear();
    while pull.recv().unwrap().is_some() {}
    assert!(host
        .events
        .borrow()
        .contains(&(push.id(), SocketEvent::Wake)));
    assert!(push.send(frames(&["x"])).unwrap());
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
        s.connect("tcp://127.0.0.1:5555", None),
        Err(Error::ProtoNoSupport(_))
    ));
    assert!(matches!(s.connect("ws://", None), Err(Error::Inval(_))));
}

#[test]
fn closed_socket_reports_term() {
    let (ctx, _) = context();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.close();
    assert_eq!(pull.recv(), Err(Error::Term));
}
