//! The load-balancing broker: clients (REQ) talk to a ROUTER frontend, workers (REQ) to a
//! ROUTER backend; the broker hands each request to the worker that has been waiting the
//! longest, and routes the reply back to its client by routing id.
//!
//! ```text
//! cargo run -p isomq --example lb_broker
//! ```

use std::collections::VecDeque;
use std::thread;

use isomq::{poll, Context, Msg, PollEvents, PollItem, Result, SocketType};

const CLIENTS: usize = 4;
const WORKERS: usize = 2;
const REQUESTS_PER_CLIENT: usize = 3;

fn client(ctx: Context, frontend: String, id: usize) -> Result<()> {
    let mut s = ctx.socket(SocketType::Req)?;
    s.connect(&frontend)?;
    for n in 0..REQUESTS_PER_CLIENT {
        s.send(format!("client {id} request {n}"))?;
        let reply = s.recv()?;
        println!(
            "client {id} got: {}",
            String::from_utf8_lossy(reply.as_slice())
        );
    }
    Ok(())
}

fn worker(ctx: Context, backend: String, id: usize) -> Result<()> {
    let mut s = ctx.socket(SocketType::Req)?;
    s.connect(&backend)?;
    // Tell the broker we are ready for work.
    s.send("READY")?;
    loop {
        // [client id, empty, request]
        let mut msg = s.recv_multipart()?;
        let request = msg.pop().unwrap_or_default();
        let reply = format!(
            "{} (done by worker {id})",
            String::from_utf8_lossy(request.as_slice())
        );
        msg.push(Msg::from(reply));
        s.send_multipart(msg)?;
    }
}

fn main() -> Result<()> {
    let ctx = Context::new();
    let mut frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let mut backend = ctx.socket(SocketType::Router)?;
    backend.bind("ipc://@isomq-lb-broker-example")?;
    let front_ep = frontend.last_endpoint().unwrap_or_default().to_owned();
    let back_ep = backend.last_endpoint().unwrap_or_default().to_owned();

    for id in 0..WORKERS {
        let (ctx, ep) = (ctx.clone(), back_ep.clone());
        // Workers run until the context terminates.
        thread::spawn(move || worker(ctx, ep, id));
    }
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (ctx, ep) = (ctx.clone(), front_ep.clone());
            thread::spawn(move || client(ctx, ep, id))
        })
        .collect();

    let mut idle_workers: VecDeque<Msg> = VecDeque::new();
    let mut replies = 0;
    while replies < CLIENTS * REQUESTS_PER_CLIENT {
        // Only take client requests while a worker is free.
        let front_events = if idle_workers.is_empty() {
            PollEvents::NONE
        } else {
            PollEvents::IN
        };
        let (back_ready, front_ready) = {
            let mut items = [
                PollItem::new(&mut backend, PollEvents::IN),
                PollItem::new(&mut frontend, front_events),
            ];
            poll(&mut items, None)?;
            (items[0].is_readable(), items[1].is_readable())
        };
        if back_ready {
            // [worker id, empty, READY] or [worker id, empty, client id, empty, reply]
            let mut msg = backend.recv_multipart()?;
            let worker_id = msg.remove(0);
            idle_workers.push_back(worker_id);
            if msg.len() == 4 {
                frontend.send_multipart(msg.into_iter().skip(1))?;
                replies += 1;
            }
        }
        if front_ready {
            if let Some(worker_id) = idle_workers.pop_front() {
                // [client id, empty, request] → [worker id, empty, client id, empty, request]
                let msg = frontend.recv_multipart()?;
                let mut out = vec![worker_id, Msg::new()];
                out.extend(msg);
                backend.send_multipart(out)?;
            }
        }
    }
    for c in clients {
        c.join().unwrap_or(Ok(()))?;
    }
    println!("all {replies} requests answered");
    drop((frontend, backend));
    ctx.terminate();
    Ok(())
}
