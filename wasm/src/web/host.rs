//! [`Host`] on the JavaScript environment: the WebSocket class given by the wrapper (the
//! global one in browsers and Node ≥ 22, or the `ws` package's), `setTimeout`, and one event
//! callback into the wrapper.

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;
use isomq_core::Error;
use js_sys::{Array, ArrayBuffer, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::context::WeakContext;
use crate::host::{ConnKey, Host, Input, SocketEvent, TimerKey, TimerKind, Ws};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds on a monotonic clock (browsers, Node ≥ 16).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

pub(crate) struct WebHost {
    /// The WebSocket constructor.
    web_socket: Function,
    /// `(socketId, kind, endpoint)` into the wrapper.
    on_event: Function,
    /// Set right after the context is made (the context owns the host).
    ctx: RefCell<Option<WeakContext>>,
    /// Timers per session and kind, cleared when the session closes so that a closed
    /// socket does not keep Node alive.
    timers: RefCell<HashMap<(u64, u64, TimerKind), JsValue>>,
    /// `"wake"`, made once: a wake goes out for every received WebSocket message, and a
    /// string made from wasm memory costs a UTF-8 decode each time.
    wake: JsValue,
}

impl WebHost {
    pub(crate) fn new(web_socket: Function, on_event: Function) -> WebHost {
        WebHost {
            web_socket,
            on_event,
            ctx: RefCell::new(None),
            timers: RefCell::new(HashMap::new()),
            wake: JsValue::from_str("wake"),
        }
    }

    pub(crate) fn set_context(&self, ctx: WeakContext) {
        *self.ctx.borrow_mut() = Some(ctx);
    }

    fn weak(&self) -> Option<WeakContext> {
        self.ctx.borrow().clone()
    }
}

/// A WebSocket and the handlers it calls, which live as long as it.
struct WebWs {
    ws: WebSocket,
    _onopen: Closure<dyn FnMut(JsValue)>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onclose: Closure<dyn FnMut(JsValue)>,
}

impl Ws for WebWs {
    fn send(&self, data: &[u8]) -> bool {
        // A copy owned by JavaScript: a view into wasm memory could be queued by the
        // WebSocket implementation (Node's `ws` does) and see the memory change or move.
        let copy = Uint8Array::from(data);
        self.ws.send_with_array_buffer_view(&copy).is_ok()
    }

    fn buffered_amount(&self) -> u64 {
        u64::from(self.ws.buffered_amount())
    }

    fn close(&self) {
        // Only 1000 and 3000-4999 may be sent from a page; 1000 cannot throw.
        let _ = self.ws.close_with_code(1000);
    }

    fn abort(&self) {
        let _ = self.ws.close();
    }
}

impl Drop for WebWs {
    fn drop(&mut self) {
        // The handlers are freed with us: the WebSocket must not call them afterwards.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
    }
}

fn js_error_text(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

impl Host for WebHost {
    fn open(&self, url: &str, protocols: &[String], conn: ConnKey) -> Result<Box<dyn Ws>, Error> {
        let Some(weak) = self.weak() else {
            return Err(Error::Term);
        };
        let offered: Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
        let args = Array::of2(&JsValue::from_str(url), &offered);
        let ws: WebSocket = Reflect::construct(&self.web_socket, &args)
            .map_err(|e| Error::Inval(js_error_text(&e)))?
            .unchecked_into();
        ws.set_binary_type(BinaryType::Arraybuffer);

        let (w, socket) = (weak.clone(), ws.clone());
        let onopen = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            w.input(Input::Open {
                conn,
                protocol: socket.protocol(),
            });
        });
        let w = weak.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let input = match data.dyn_into::<ArrayBuffer>() {
                Ok(buffer) => Input::Message {
                    conn,
                    data: Bytes::from(Uint8Array::new(&buffer).to_vec()),
                },
                Err(_) => Input::Invalid { conn },
            };
            w.input(input);
        });
        let w = weak;
        let onclose = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            w.input(Input::Closed { conn });
        });
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        // An error is always followed by close, which is what we act on; without a handler
        // some environments report the error as unhandled.
        let noop = Function::new_no_args("");
        ws.set_onerror(Some(&noop));
        Ok(Box::new(WebWs {
            ws,
            _onopen: onopen,
            _onmessage: onmessage,
            _onclose: onclose,
        }))
    }

    fn set_timer(&self, delay_ms: u32, key: TimerKey) {
        let Some(weak) = self.weak() else { return };
        let fire = Closure::once_into_js(move || weak.input(Input::Timer(key)));
        let handle = set_timeout(&fire, delay_ms);
        // One pending timer per session and kind: a new one replaces the old.
        let old = self
            .timers
            .borrow_mut()
            .insert((key.conn.socket, key.conn.session, key.kind), handle);
        if let Some(old) = old {
            clear_timeout(&old);
        }
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(performance_now().max(0.0) / 1000.0)
    }

    fn cancel_timers(&self, conn: ConnKey) {
        self.timers
            .borrow_mut()
            .retain(|&(socket, session, _), handle| {
                let keep = (socket, session) != (conn.socket, conn.session);
                if !keep {
                    clear_timeout(handle);
                }
                keep
            });
    }

    fn fill_random(&self, buf: &mut [u8]) -> isomq_core::Result<()> {
        super::random::fill(buf)
    }

    fn random(&self) -> u64 {
        (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
    }

    fn emit(&self, socket: u64, event: SocketEvent) {
        let (kind, endpoint) = match event {
            SocketEvent::Wake => (self.wake.clone(), JsValue::UNDEFINED),
            SocketEvent::Connect(e) => (JsValue::from_str("connect"), JsValue::from_str(&e)),
            SocketEvent::Disconnect(e) => (JsValue::from_str("disconnect"), JsValue::from_str(&e)),
        };
        // A throwing handler must not unwind through the run loop; the wrapper reports its
        // own errors.
        let _ = self.on_event.call3(
            &JsValue::NULL,
            &JsValue::from_f64(socket as f64),
            &kind,
            &endpoint,
        );
    }
}
