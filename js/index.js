// isomq for browsers and Node: ZeroMQ sockets over WebSocket (ZWS 2.0), and inproc:// between
// sockets of one page. The routing is isomq's Rust core compiled to WebAssembly; this file
// adds promises, async iteration, strings and events. See index.d.ts for the API.

import init, { WasmContext, curveKeypair as wasmCurveKeypair } from "./wasm/isomq_wasm.js";

const WASM_URL = new URL("./wasm/isomq_wasm_bg.wasm", import.meta.url);

async function loadWasm() {
    const isNode = typeof process !== "undefined" && process.versions != null && process.versions.node != null;
    if (isNode && WASM_URL.protocol === "file:") {
        // Node's fetch cannot read file: URLs, so read the bytes ourselves. The module name
        // is in a variable so that bundlers do not try to resolve it for the browser.
        const fsName = "node:fs/promises";
        const { readFile } = await import(/* @vite-ignore */ fsName);
        await init({ module_or_path: await readFile(WASM_URL) });
    } else {
        await init({ module_or_path: WASM_URL });
    }
}

await loadWasm();

/**
 * A new CURVE key pair from crypto.getRandomValues: { publicKey, secretKey }, each 40
 * characters of Z85 (the form of `isomq keygen` and libzmq's zmq_curve_keypair).
 */
export function curveKeypair() {
    return wasmCurveKeypair();
}

let WebSocketClass = null;

/**
 * Sets the WebSocket class used for ws:// and wss:// (default: the global `WebSocket`).
 * In Node 20 without `--experimental-websocket`, pass the `ws` package's class.
 */
export function setWebSocket(cls) {
    WebSocketClass = cls;
}

function webSocketClass() {
    return WebSocketClass ?? globalThis.WebSocket ?? null;
}

// Called by the core as `new Dial(url, protocols)`; returning an object from a constructor
// makes that object the result, so the class can be chosen at dial time.
function Dial(url, protocols) {
    const cls = webSocketClass();
    if (cls == null) {
        throw new Error("no WebSocket class: see setWebSocket()");
    }
    return new cls(url, protocols);
}

const sockets = new Map();

const context = new WasmContext(Dial, (id, kind, endpoint) => {
    const socket = sockets.get(id);
    if (socket !== undefined) {
        socket._event(kind, endpoint);
    }
});


function toFrame(part) {
    if (typeof part === "string" || part instanceof Uint8Array) {
        return part;
    }
    if (part instanceof ArrayBuffer) {
        return new Uint8Array(part);
    }
    if (ArrayBuffer.isView(part)) {
        return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
    }
    throw new TypeError("a frame must be a string, Uint8Array, ArrayBuffer or typed array");
}

function toFrames(msg) {
    return Array.isArray(msg) ? msg.map(toFrame) : [toFrame(msg)];
}

// Messages taken from the socket per call into WebAssembly: one call per batch instead of
// one per message, so that a message costs JavaScript a few array operations. They leave the
// socket's RCVHWM count when taken: the wrapper holds at most this many more.
const RECV_BATCH = 256;

function termError() {
    const e = new Error("socket closed (ETERM)");
    e.code = "ETERM";
    return e;
}

/** A ZeroMQ socket: `new Socket("sub")`. */
export class Socket {
    constructor(type, options = {}) {
        this._raw = context.socket(String(type));
        this._id = this._raw.id;
        this.type = String(type).toLowerCase();
        this._sends = [];
        this._recvs = [];
        // Messages taken from the socket in one batch and not yet handed out.
        this._inbox = [];
        this._inboxAt = 0;
        // Whether the socket may hold messages: false once a batch came short (the socket
        // was empty), true again at the next "wake", which follows any arrival. Saves a call
        // into WebAssembly that would find nothing.
        this._mayHave = true;
        // Inside a call into WebAssembly: a "wake" it causes is handled after it returns.
        this._taking = false;
        this._listeners = new Map();
        this._closed = false;
        // The promise close() returned, once called.
        this._closing = undefined;
        sockets.set(this._id, this);
        for (const [name, value] of Object.entries(options)) {
            this.setOption(name, value);
        }
    }

    /** Connects to ws://, wss:// or inproc://. Returns this. */
    connect(endpoint, options = {}) {
        if (/^wss?:\/\//.test(endpoint) && webSocketClass() == null) {
            throw new Error(
                "no WebSocket class: run Node with --experimental-websocket, or call " +
                    "setWebSocket(WebSocket) with the `ws` package's class",
            );
        }
        this._raw.connect(endpoint, options.subprotocols ?? undefined);
        return this;
    }

    /** Binds inproc:// (a page cannot accept WebSocket connections). Returns this. */
    bind(endpoint) {
        this._raw.bind(endpoint);
        return this;
    }

    /** Undoes a connect or bind. */
    disconnect(endpoint) {
        this._raw.disconnect(endpoint);
    }

    /** SUB: receive messages whose first frame starts with `topic` ("" = all). */
    subscribe(topic = "") {
        this._raw.subscribe(toFrame(topic));
    }

    /** SUB: undo one subscribe(topic). */
    unsubscribe(topic = "") {
        this._raw.unsubscribe(toFrame(topic));
    }

    /** Sets an option; see index.d.ts for the names. */
    setOption(name, value) {
        this._raw.setOption(name, value);
    }

    /** Reads an option; see index.d.ts for the names. */
    getOption(name) {
        return this._raw.getOption(name);
    }

    /** Inbound messages dropped because RCVHWM was reached (not read fast enough). */
    get dropped() {
        return this._closed ? 0 : this._raw.dropped;
    }

    /** Sends one message; resolves once the socket has taken it (waits at SNDHWM). */
    send(msg) {
        if (this._closed) {
            return Promise.reject(termError());
        }
        let frames;
        try {
            frames = toFrames(msg);
            if (this._sends.length === 0 && this._raw.send(frames)) {
                return Promise.resolve();
            }
        } catch (e) {
            return Promise.reject(e);
        }
        return new Promise((resolve, reject) => this._sends.push({ frames, resolve, reject }));
    }

    /** Receives one message as an array of Uint8Array frames. */
    recv() {
        if (this._closed) {
            return Promise.reject(termError());
        }
        if (this._recvs.length === 0) {
            try {
                const msg = this._take();
                if (msg !== undefined) {
                    return Promise.resolve(msg);
                }
            } catch (e) {
                return Promise.reject(e);
            }
        }
        return this._wait();
    }

    _wait() {
        return new Promise((resolve, reject) => this._recvs.push({ resolve, reject }));
    }

    /** `for await (const frames of socket)`: ends when the socket is closed. */
    [Symbol.asyncIterator]() {
        const done = { value: undefined, done: true };
        return {
            next: () => {
                if (this._closed) {
                    return Promise.resolve(done);
                }
                // A message already taken is handed out without another promise in between.
                if (this._recvs.length === 0) {
                    try {
                        const msg = this._take();
                        if (msg !== undefined) {
                            return Promise.resolve({ value: msg, done: false });
                        }
                    } catch (e) {
                        return Promise.reject(e);
                    }
                }
                return this._wait().then(
                    (value) => ({ value, done: false }),
                    (e) => (e.code === "ETERM" ? done : Promise.reject(e)),
                );
            },
            return: () => Promise.resolve(done),
        };
    }

    // The next whole message, from the batch taken last or a new one; undefined when none.
    _take() {
        if (this._inboxAt === this._inbox.length) {
            if (!this._mayHave) {
                return undefined;
            }
            this._mayHave = false;
            this._taking = true;
            let batch;
            try {
                batch = this._raw.recvBatch(RECV_BATCH);
            } catch (e) {
                // Errors (EFSM, ETERM, ...) come again on the next call.
                this._mayHave = true;
                throw e;
            } finally {
                this._taking = false;
            }
            if (batch === undefined) {
                return undefined;
            }
            if (batch.length === RECV_BATCH) {
                this._mayHave = true;
            }
            this._inbox = batch;
            this._inboxAt = 0;
        }
        const msg = this._inbox[this._inboxAt];
        this._inbox[this._inboxAt++] = undefined;
        return msg;
    }

    /** Listens for "connect" and "disconnect" (argument: the endpoint). */
    on(event, listener) {
        if (!this._listeners.has(event)) {
            this._listeners.set(event, new Set());
        }
        this._listeners.get(event).add(listener);
        return this;
    }

    /** Removes a listener added with on(). */
    off(event, listener) {
        this._listeners.get(event)?.delete(listener);
        return this;
    }

    /**
     * Closes the socket at once for the application: pending send()/recv() reject with code
     * ETERM, and so do later calls. Each ws:// connection keeps delivering what the socket
     * queued within the `linger` option (default forever, 0 for SUB and XSUB), then closes
     * its WebSocket with code 1000 once the WebSocket has sent everything. Returns a promise
     * that resolves when every connection is done (at once with none, or nothing queued);
     * calling close() again returns the same promise.
     */
    close() {
        if (this._closing !== undefined) {
            return this._closing;
        }
        this._closed = true;
        this._inbox = [];
        this._inboxAt = 0;
        sockets.delete(this._id);
        this._closing = this._raw.close();
        const err = termError();
        for (const w of this._sends.splice(0)) w.reject(err);
        for (const w of this._recvs.splice(0)) w.reject(err);
        return this._closing;
    }

    _event(kind, endpoint) {
        if (kind === "wake") {
            this._mayHave = true;
            if (this._taking) {
                // Woken from inside _take(): its batch is not handed out yet, so this one
                // waits for it (messages keep their order).
                queueMicrotask(() => this._retry());
                return;
            }
            this._retry();
            return;
        }
        for (const listener of this._listeners.get(kind) ?? []) {
            try {
                listener(endpoint);
            } catch (e) {
                queueMicrotask(() => {
                    throw e;
                });
            }
        }
    }

    _retry() {
        while (this._sends.length > 0 && !this._closed) {
            const w = this._sends[0];
            try {
                if (!this._raw.send(w.frames)) break;
                this._sends.shift();
                w.resolve();
            } catch (e) {
                this._sends.shift();
                w.reject(e);
            }
        }
        while (this._recvs.length > 0 && !this._closed) {
            let msg;
            try {
                msg = this._take();
            } catch (e) {
                this._recvs.shift().reject(e);
                continue;
            }
            if (msg === undefined) break;
            this._recvs.shift().resolve(msg);
        }
    }
}

/** Text of a frame, decoded as UTF-8. */
export function text(frame) {
    return decoder.decode(frame);
}

const decoder = new TextDecoder();
