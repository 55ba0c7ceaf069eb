//! The browser/Node side: WebSockets and timers from the JavaScript environment, and the
//! classes wasm-bindgen exports to the npm package's wrapper (`js/index.js`).

mod bindings;
mod host;
mod random;
