//! Request-reply: a REP server answers each request; a REQ client asks in turn.
//!
//! ```text
//! cargo run -p isomq --example req_rep
//! ```

use std::thread;

use isomq::{Context, Result, SocketType};

fn main() -> Result<()> {
    let ctx = Context::new();

    let mut server = ctx.socket(SocketType::Rep)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.last_endpoint().unwrap_or_default().to_owned();
    println!("server bound at {endpoint}");

    let worker = thread::spawn(move || -> Result<()> {
        for _ in 0..5 {
            let request = server.recv()?;
            let text = String::from_utf8_lossy(request.as_slice()).to_uppercase();
            server.send(text)?;
        }
        Ok(())
    });

    let mut client = ctx.socket(SocketType::Req)?;
    client.connect(&endpoint)?;
    for word in ["hello", "brokerless", "world", "of", "messages"] {
        client.send(word)?;
        let reply = client.recv()?;
        println!("{word} -> {}", String::from_utf8_lossy(reply.as_slice()));
    }
    worker.join().unwrap_or(Ok(()))?;
    Ok(())
}
