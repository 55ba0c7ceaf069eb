//! Starting every workload of the soak, and ending them in order: faults off, senders
//! finish and check their streams, receivers stop, relays and the peer process go.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isomq::{Context, Socket, SocketType};
use isomq_tests::churn::Churn;
use isomq_tests::relay::Relay;

use super::child::ChildPeer;
use super::counters::Counters;
use super::faults::{self, Targets};
use super::ledger::Registry;
use super::pace::Pacer;
use super::streams::{self, Mode};
use super::{pubsub, reqrep, socket, Shared, PATIENCE};
use crate::BoxError;

/// A transport a socket binds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    Tcp,
    Ipc,
    Ws,
    Inproc,
}

type Handle = (String, JoinHandle<Result<(), String>>);

/// The running workloads.
#[derive(Debug)]
pub(super) struct Workloads {
    faults: Option<Handle>,
    senders: Vec<Handle>,
    sinks: Vec<Handle>,
    relays: Vec<Arc<Relay>>,
    child: Arc<Mutex<ChildPeer>>,
}

/// A socket of type `ty` bound on each of `nets`; returns it and its endpoints, in order.
fn bound(ctx: &Context, ty: SocketType, nets: &[Net]) -> Result<(Socket, Vec<String>), String> {
    let mut s = socket(ctx, ty)?;
    let pid = std::process::id();
    let mut endpoints = Vec::new();
    for (i, net) in nets.iter().enumerate() {
        let name = format!("soak-{pid}-{}-{i}", ty.name());
        let ep = match net {
            Net::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Net::Ipc => format!("ipc://@isomq-{name}"),
            Net::Ws => format!("ws://127.0.0.1:*/{name}"),
            Net::Inproc => format!("inproc://{name}"),
        };
        s.bind(&ep).map_err(|e| format!("bind {ep}: {e}"))?;
        endpoints.push(s.last_endpoint().ok_or("no endpoint")?.to_owned());
    }
    Ok((s, endpoints))
}

/// A relay in front of a tcp:// or ws:// `endpoint`; returns it and the endpoint to
/// connect to through it.
fn relay(endpoint: &str) -> Result<(Arc<Relay>, String), String> {
    let (scheme, rest) = endpoint.split_once("://").ok_or("no scheme")?;
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let r = Relay::start(addr);
    let front = r.endpoint().replacen("tcp://", &format!("{scheme}://"), 1);
    let front = if path.is_empty() {
        front
    } else {
        format!("{front}/{path}")
    };
    Ok((Arc::new(r), front))
}

fn spawn(
    name: String,
    shared: &Arc<Shared>,
    body: impl FnOnce(&Shared) -> Result<(), String> + Send + 'static,
) -> Handle {
    let shared = shared.clone();
    let handle = std::thread::spawn(move || {
        let r = body(&shared);
        if let Err(e) = &r {
            Counters::add(&shared.counters.errors, 1);
            eprintln!("workload failed: {e}");
        }
        r
    });
    (name, handle)
}

impl Workloads {
    /// Binds the receiving sockets on `server`, and starts every workload.
    pub(super) fn start(
        shared: &Arc<Shared>,
        server: &Context,
        client: &Context,
        churn: &Arc<Mutex<Churn>>,
    ) -> Result<Workloads, BoxError> {
        use Net::{Inproc, Ipc, Tcp, Ws};
        let mut w = Workloads {
            faults: None,
            senders: Vec::new(),
            sinks: Vec::new(),
            relays: Vec::new(),
            child: Arc::new(Mutex::new(ChildPeer::start(
                shared,
                shared.config.exe.clone(),
                format!("ipc://@isomq-soak-{}-peer", std::process::id()),
                Arc::new(Registry::default()),
            )?)),
        };
        let (pull, pull_eps) = bound(server, SocketType::Pull, &[Tcp, Ipc, Ws, Inproc])?;
        let (router, router_eps) = bound(server, SocketType::Router, &[Tcp, Ipc, Ws])?;
        let (rep, rep_eps) = bound(server, SocketType::Rep, &[Tcp, Ipc, Ws])?;
        let (publisher, pub_eps) = bound(server, SocketType::Pub, &[Tcp, Ipc, Ws])?;
        let pull_reg = Arc::new(Registry::default());
        let router_reg = Arc::new(Registry::default());
        w.sinks.push((
            "PULL".into(),
            streams::start_sink(shared, pull, pull_reg.clone()),
        ));
        w.sinks.push((
            "ROUTER".into(),
            streams::start_sink(shared, router, router_reg.clone()),
        ));
        w.sinks.push(("REP".into(), reqrep::start_rep(shared, rep)));
        w.sinks
            .push(("PUB".into(), pubsub::start_pub(shared, publisher)));
        w.direct(
            shared,
            server,
            client,
            &pull_eps,
            &router_eps,
            &pull_reg,
            &router_reg,
        );
        w.services(shared, client, &rep_eps, &pub_eps);
        let mut resettable = Vec::new();
        for (ty, ep, reg) in [
            (SocketType::Push, &pull_eps[0], &pull_reg),
            (SocketType::Push, &pull_eps[2], &pull_reg),
            (SocketType::Dealer, &router_eps[0], &router_reg),
        ] {
            let (r, front) = relay(ep)?;
            resettable.push(r);
            let (ctx, reg) = (client.clone(), reg.clone());
            w.senders
                .push(spawn(format!("{ty:?} via relay {ep}"), shared, move |sh| {
                    streams::sender(sh, &ctx, ty, &front, &reg, Mode::Long)
                }));
        }
        let (req_relay, front) = relay(&rep_eps[0])?;
        resettable.push(req_relay);
        let ctx = client.clone();
        w.senders
            .push(spawn("REQ via relay".into(), shared, move |sh| {
                reqrep::requester(sh, &ctx, &front, true)
            }));
        let (sub_relay, front) = relay(&pub_eps[0])?;
        let ctx = client.clone();
        w.senders
            .push(spawn("SUB via relay".into(), shared, move |sh| {
                pubsub::steady(sh, &ctx, &front)
            }));
        w.peer_sender(shared, client);
        w.churn(shared, churn);
        w.relays.extend(resettable.iter().cloned());
        w.relays.push(sub_relay.clone());
        let targets = Targets {
            resettable,
            stall_only: vec![sub_relay],
            child: w.child.clone(),
        };
        w.faults = Some(spawn("faults".into(), shared, move |sh| {
            faults::run(sh, &targets)
        }));
        Ok(w)
    }

    /// Churning PUSH and DEALER senders, a connection per stream, on every transport.
    #[allow(clippy::too_many_arguments)]
    fn direct(
        &mut self,
        shared: &Arc<Shared>,
        server: &Context,
        client: &Context,
        pull_eps: &[String],
        router_eps: &[String],
        pull_reg: &Arc<Registry>,
        router_reg: &Arc<Registry>,
    ) {
        let pushes = pull_eps.iter().map(|ep| (SocketType::Push, ep, pull_reg));
        let dealers = router_eps
            .iter()
            .map(|ep| (SocketType::Dealer, ep, router_reg));
        for (ty, ep, reg) in pushes.chain(dealers) {
            // inproc:// connects within one context.
            let ctx = if ep.starts_with("inproc://") {
                server.clone()
            } else {
                client.clone()
            };
            let (ep, reg) = (ep.clone(), reg.clone());
            self.senders
                .push(spawn(format!("{ty:?} to {ep}"), shared, move |sh| {
                    streams::sender(sh, &ctx, ty, &ep, &reg, Mode::Churning)
                }));
        }
    }

    /// Requesters over ipc and ws, steady subscribers on every transport, and the
    /// subscribers that join and leave.
    fn services(
        &mut self,
        shared: &Arc<Shared>,
        client: &Context,
        rep_eps: &[String],
        pub_eps: &[String],
    ) {
        for ep in &rep_eps[1..] {
            let (ctx, ep) = (client.clone(), ep.clone());
            self.senders
                .push(spawn(format!("REQ to {ep}"), shared, move |sh| {
                    reqrep::requester(sh, &ctx, &ep, false)
                }));
        }
        for ep in pub_eps {
            let (ctx, ep) = (client.clone(), ep.clone());
            self.senders
                .push(spawn(format!("SUB to {ep}"), shared, move |sh| {
                    pubsub::steady(sh, &ctx, &ep)
                }));
        }
        let (ctx, eps) = (client.clone(), pub_eps.to_vec());
        self.senders
            .push(spawn("SUB joining and leaving".into(), shared, move |sh| {
                pubsub::churning(sh, &ctx, &eps)
            }));
    }

    /// The PUSH to the peer process, whose PULL prints what it receives.
    fn peer_sender(&mut self, shared: &Arc<Shared>, client: &Context) {
        let (endpoint, registry) = {
            let peer = self.child.lock().unwrap_or_else(|e| e.into_inner());
            (peer.endpoint().to_owned(), peer.registry())
        };
        let ctx = client.clone();
        self.senders.push(spawn(
            "PUSH to the peer process".into(),
            shared,
            move |sh| streams::sender(sh, &ctx, SocketType::Push, &endpoint, &registry, Mode::Long),
        ));
    }

    /// The churn driver at a steady pace; at the end, its contexts' live objects must be
    /// back to what they were before its first cycle.
    fn churn(&mut self, shared: &Arc<Shared>, churn: &Arc<Mutex<Churn>>) {
        let churn = churn.clone();
        self.senders.push(spawn("churn".into(), shared, move |sh| {
            let lock = || churn.lock().unwrap_or_else(|e| e.into_inner());
            let quiet = lock().snapshot()?;
            let mut pacer = Pacer::new(sh.config.churn_per_sec);
            while !sh.finishing() {
                if pacer.due() {
                    lock().run(1)?;
                    pacer.sent();
                    Counters::add(&sh.counters.churn_cycles, 1);
                }
            }
            let start = Instant::now();
            loop {
                let now = lock().snapshot()?;
                if now.server == quiet.server && now.client == quiet.client {
                    return Ok(());
                }
                if start.elapsed() > PATIENCE {
                    return Err(format!("churn: not back to {quiet:?}: {now:?}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }));
    }

    /// Ends the run in order; returns each workload's error.
    pub(super) fn finish(mut self, shared: &Shared) -> Vec<String> {
        let mut failures = Vec::new();
        let mut join = |(name, h): Handle| match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => failures.push(format!("{name}: panicked")),
        };
        shared
            .faults_off
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(f) = self.faults.take() {
            join(f);
        }
        shared
            .finish
            .store(true, std::sync::atomic::Ordering::Release);
        for h in self.senders.drain(..) {
            join(h);
        }
        self.child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        shared
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        for h in self.sinks.drain(..) {
            join(h);
        }
        self.relays.clear();
        failures
    }
}
