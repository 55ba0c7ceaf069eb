//! The classes the npm package's wrapper (`js/index.js`) builds its `Socket` on. They are
//! not the public JavaScript API: the wrapper adds promises, async iteration, strings and
//! events.

use std::rc::Rc;

use isomq_core::{Error, Msg, OptionName, OptionValue, SocketType};
use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::host::WebHost;
use crate::{Context, Socket};

/// A JavaScript `Error` whose `code` is ZeroMQ's errno name (`EAGAIN`, `ENOTSUP`, ...).
fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let _ = Reflect::set(
        &err,
        &JsValue::from_str("code"),
        &JsValue::from_str(e.name()),
    );
    err.into()
}

fn inval(what: &str) -> JsValue {
    js_error(&Error::Inval(what.to_owned()))
}

/// All the sockets of one page or Node process.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmContext {
    ctx: Context,
}

#[wasm_bindgen]
impl WasmContext {
    /// `web_socket`: the WebSocket class to dial with; `on_event(socketId, kind, endpoint)`
    /// receives `"wake"`, `"connect"` and `"disconnect"`.
    #[wasm_bindgen(constructor)]
    pub fn new(web_socket: Function, on_event: Function) -> WasmContext {
        let host = Rc::new(WebHost::new(web_socket, on_event));
        let ctx = Context::with_host(host.clone());
        host.set_context(ctx.downgrade());
        WasmContext { ctx }
    }

    /// A socket of type `socket_type` (`"pub"`, `"SUB"`, ...).
    pub fn socket(&self, socket_type: &str) -> Result<WasmSocket, JsValue> {
        let t = SocketType::from_name(socket_type.to_ascii_uppercase().as_bytes())
            .ok_or_else(|| inval(&format!("unknown socket type {socket_type:?}")))?;
        let socket = self.ctx.socket(t).map_err(|e| js_error(&e))?;
        Ok(WasmSocket { socket })
    }
}

/// One socket; see `Socket` in the Rust API.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmSocket {
    socket: Socket,
}

fn frame(value: &JsValue) -> Result<Msg, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(Msg::from(s));
    }
    match value.dyn_ref::<Uint8Array>() {
        Some(bytes) => Ok(Msg::from(bytes.to_vec())),
        None => Err(inval("a frame must be a string or a Uint8Array")),
    }
}

#[wasm_bindgen]
impl WasmSocket {
    /// The id given to `on_event`.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> f64 {
        self.socket.id() as f64
    }

    /// Connects to `ws://`, `wss://` or `inproc://`; `protocols` overrides the ZWS
    /// subprotocols offered.
    pub fn connect(&self, endpoint: &str, protocols: Option<Vec<String>>) -> Result<(), JsValue> {
        self.socket
            .connect_offering(endpoint, protocols)
            .map_err(|e| js_error(&e))
    }

    /// Binds `inproc://name`.
    pub fn bind(&self, endpoint: &str) -> Result<(), JsValue> {
        self.socket.bind(endpoint).map_err(|e| js_error(&e))
    }

    /// Undoes a connect or bind.
    pub fn disconnect(&self, endpoint: &str) -> Result<(), JsValue> {
        self.socket.disconnect(endpoint).map_err(|e| js_error(&e))
    }

    /// Sends one message given as an array of frames (strings or Uint8Arrays). false: not
    /// now, retry after a "wake".
    pub fn send(&self, frames: Array) -> Result<bool, JsValue> {
        let msg = frames
            .iter()
            .map(|f| frame(&f))
            .collect::<Result<Vec<_>, _>>()?;
        if msg.is_empty() {
            return Err(inval("a message has at least one frame"));
        }
        match self.socket.send_multipart(msg) {
            Ok(()) => Ok(true),
            Err(Error::Again) => Ok(false),
            Err(e) => Err(js_error(&e)),
        }
    }

    /// One whole message as an array of Uint8Arrays, or undefined when none is waiting.
    pub fn recv(&self) -> Result<Option<Array>, JsValue> {
        let msg = match self.socket.recv_multipart() {
            Ok(frames) => Some(frames),
            Err(Error::Again) => None,
            Err(e) => return Err(js_error(&e)),
        };
        Ok(msg.map(|frames| {
            frames
                .iter()
                .map(|f| JsValue::from(Uint8Array::from(f.as_slice())))
                .collect()
        }))
    }

    /// Up to `max` whole messages, each an array of Uint8Arrays, in one array; undefined
    /// when none is waiting. One call for many messages: the wrapper's `recv()` and async
    /// iterator take messages from such a batch.
    #[wasm_bindgen(js_name = recvBatch)]
    pub fn recv_batch(&self, max: u32) -> Result<Option<Array>, JsValue> {
        let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
        let batch = self.socket.recv_batch(max).map_err(|e| js_error(&e))?;
        if batch.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            batch
                .iter()
                .map(|frames| -> JsValue {
                    frames
                        .iter()
                        .map(|f| JsValue::from(Uint8Array::from(f.as_slice())))
                        .collect::<Array>()
                        .into()
                })
                .collect(),
        ))
    }

    /// `ZMQ_SUBSCRIBE`.
    pub fn subscribe(&self, topic: JsValue) -> Result<(), JsValue> {
        let topic = frame(&topic)?;
        self.socket
            .subscribe(topic.as_slice())
            .map_err(|e| js_error(&e))
    }

    /// `ZMQ_UNSUBSCRIBE`.
    pub fn unsubscribe(&self, topic: JsValue) -> Result<(), JsValue> {
        let topic = frame(&topic)?;
        self.socket
            .unsubscribe(topic.as_slice())
            .map_err(|e| js_error(&e))
    }

    /// Sets an option by its JavaScript name: libzmq's name in camelCase (`sndhwm`,
    /// `reconnectIvlMax`, `routingId`, ...; every name of the core's options table). Numbers
    /// are libzmq's (times in milliseconds, -1 or 0 for "none" as libzmq says), flags are
    /// booleans, ids and topics strings or bytes.
    #[wasm_bindgen(js_name = setOption)]
    pub fn set_option(&self, name: &str, value: JsValue) -> Result<(), JsValue> {
        let option_name = OptionName::from_js_name(name)
            .ok_or_else(|| inval(&format!("unknown option {name:?}")))?;
        let value = if let Some(b) = value.as_bool() {
            OptionValue::Bool(b)
        } else if let Some(n) = value.as_f64() {
            if n.fract() != 0.0 || !(-1.0..=9_007_199_254_740_991.0).contains(&n) {
                return Err(inval(&format!("{name} takes a whole number")));
            }
            OptionValue::Int(n as i64)
        } else {
            OptionValue::Bytes(frame(&value)?.to_vec())
        };
        let option = option_name.parse(value).map_err(|e| js_error(&e))?;
        self.socket.set_option(option).map_err(|e| js_error(&e))
    }

    /// Reads an option by its JavaScript name: a number, a boolean, or a `Uint8Array`.
    #[wasm_bindgen(js_name = getOption)]
    pub fn get_option(&self, name: &str) -> Result<JsValue, JsValue> {
        let option_name = OptionName::from_js_name(name)
            .ok_or_else(|| inval(&format!("unknown option {name:?}")))?;
        let option = self
            .socket
            .get_option(option_name)
            .map_err(|e| js_error(&e))?;
        Ok(match option.value() {
            OptionValue::Int(n) => JsValue::from_f64(n as f64),
            OptionValue::Bool(b) => JsValue::from_bool(b),
            OptionValue::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        })
    }

    /// Inbound messages dropped at RCVHWM.
    #[wasm_bindgen(getter)]
    pub fn dropped(&self) -> f64 {
        self.socket.dropped() as f64
    }

    /// Closes the socket; the promise resolves once its connections have delivered what it
    /// queued (or LINGER ran out) and closed. Closing again gives a promise of the same.
    pub fn close(&self) -> js_sys::Promise {
        let closing = self.socket.close();
        js_sys::Promise::new(&mut |resolve, _reject| {
            closing.on_done(move || {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            });
        })
    }
}

/// The page's secure generator as the core's random source.
struct WebRandom;

impl isomq_core::security::Random for WebRandom {
    fn fill(&mut self, buf: &mut [u8]) -> isomq_core::Result<()> {
        super::random::fill(buf)
    }
}

/// A new CURVE key pair from `crypto.getRandomValues`: `{ publicKey, secretKey }`, each 40
/// characters of Z85 (as `isomq keygen` prints them).
#[wasm_bindgen(js_name = curveKeypair)]
pub fn curve_keypair() -> Result<js_sys::Object, JsValue> {
    let pair = isomq_core::security::KeyPair::generate(&mut WebRandom).map_err(|e| js_error(&e))?;
    let object = js_sys::Object::new();
    Reflect::set(
        &object,
        &JsValue::from_str("publicKey"),
        &JsValue::from_str(&pair.public.to_z85()),
    )?;
    Reflect::set(
        &object,
        &JsValue::from_str("secretKey"),
        &JsValue::from_str(&pair.secret.to_z85()),
    )?;
    Ok(object)
}
