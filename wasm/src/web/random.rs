//! `crypto.getRandomValues`, the secure generator of browsers and Node (its global
//! `crypto`), for CURVE's keys and nonces.

use isomq_core::{Error, Result};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// Fills `buf` from `globalThis.crypto.getRandomValues`.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    let unavailable = || Error::Resource("crypto.getRandomValues is not available".into());
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(|c| c.is_object())
        .ok_or_else(unavailable)?;
    let get = Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(unavailable)?;
    // getRandomValues fills at most 65,536 bytes per call.
    for chunk in buf.chunks_mut(65_536) {
        let len = u32::try_from(chunk.len()).map_err(|_| unavailable())?;
        let array = Uint8Array::new_with_length(len);
        get.call1(&crypto, &array).map_err(|_| unavailable())?;
        array.copy_to(chunk);
    }
    Ok(())
}
