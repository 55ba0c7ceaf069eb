/**
 * isomq: ZeroMQ sockets for browsers and Node over WebSocket (ZWS 2.0), and inproc://
 * between sockets of one page. The routing is isomq's Rust core compiled to WebAssembly.
 *
 * Flow control: `send()` waits while the socket's SNDHWM is reached (PUB and XPUB drop
 * instead, as in ZeroMQ). A browser WebSocket cannot be paused: inbound messages that arrive
 * while RCVHWM messages are already waiting unread on that connection wait for room up to
 * 256 KiB, beyond which they are dropped, whole messages, and counted in
 * {@link Socket.dropped}: read promptly, or raise `rcvhwm`. `recv()` and `for await` take
 * messages from the socket up to 256 at a time, which then no longer count against RCVHWM.
 */

/** Socket types; REQ, REP, DEALER and ROUTER too. Case does not matter. */
/** A CURVE key pair, each key 40 characters of Z85. */
export interface CurveKeypair {
    publicKey: string;
    secretKey: string;
}

/** A new CURVE key pair from crypto.getRandomValues (libzmq's zmq_curve_keypair). */
export function curveKeypair(): CurveKeypair;

export type SocketType =
    | "pub" | "sub" | "xpub" | "xsub" | "push" | "pull" | "pair"
    | "req" | "rep" | "dealer" | "router";

/** One frame as given to send(): strings are sent as UTF-8. */
export type Frame = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * Socket options: every option of isomq's options table, named as libzmq names them without
 * `ZMQ_`, in camelCase (`ZMQ_RECONNECT_IVL_MAX` is `reconnectIvlMax`). Times are in
 * milliseconds; where libzmq uses -1 or 0 for "none", so do these. Options that shape
 * connections apply to later connect() calls, as in libzmq. Every option can be set and
 * read (getOption) except subscribe/unsubscribe, which are actions.
 */
export interface SocketOptions {
    /** ZMQ_SNDHWM: messages queued per connection before send() waits. Default 1000; 0 = none. */
    sndhwm?: number;
    /** ZMQ_RCVHWM: messages kept unread per connection; beyond, inbound messages are dropped and counted. Default 1000. */
    rcvhwm?: number;
    /** ZMQ_LINGER in ms: how long close() lets connections deliver queued messages; -1 = forever (default; 0 for SUB/XSUB). Read when close() is called. */
    linger?: number;
    /** ZMQ_SNDTIMEO in ms (-1 default). Kept for parity with native sockets: send() here is a promise and does not block. */
    sndtimeo?: number;
    /** ZMQ_RCVTIMEO in ms (-1 default). Kept for parity with native sockets: recv() here is a promise and does not block. */
    rcvtimeo?: number;
    /** ZMQ_RECONNECT_IVL in ms (default 100); -1 disables reconnection. */
    reconnectIvl?: number;
    /** ZMQ_RECONNECT_IVL_MAX in ms: 0 (default) = the interval plus a random jitter below it; otherwise the delay doubles up to this. */
    reconnectIvlMax?: number;
    /** ZMQ_HANDSHAKE_IVL in ms (default 30000): the WebSocket must open and the ZWS handshake finish in time, else the connection is dropped and retried. 0 = no limit. */
    handshakeIvl?: number;
    /** ZMQ_CONNECT_TIMEOUT in ms, for native connects (tcp, ipc, ws): an attempt not connected in time is abandoned and retried. 0 (default) = the kernel's. Kept for parity in a page, where the WebSocket's opening counts under handshakeIvl. */
    connectTimeout?: number;
    /** ZMQ_MAXMSGSIZE in bytes; larger frames close the connection. -1 = no limit (default). */
    maxmsgsize?: number;
    /** ZMQ_ROUTING_ID (REQ, DEALER, ROUTER): 1 to 255 bytes. */
    routingId?: string | Uint8Array;
    /** ZMQ_BACKLOG (default 100). Kept for parity with native sockets: a page does not listen. */
    backlog?: number;
    /** isomq's MAX_HANDSHAKES, for native listeners (a page does not listen): connections of one listener in their handshake at once; beyond it each new one is closed. Default 1000; 0 = no limit. */
    maxHandshakes?: number;
    /** ZMQ_HEARTBEAT_IVL in ms (0 = none, default). Native sockets only: a page cannot send WebSocket pings, and native servers ping their browsers. */
    heartbeatIvl?: number;
    /** ZMQ_HEARTBEAT_TIMEOUT in ms (-1 = the heartbeat interval, default). Native sockets only, as heartbeatIvl. */
    heartbeatTimeout?: number;
    /** ZMQ_HEARTBEAT_TTL in ms (0 = none, default). Native sockets only, as heartbeatIvl. */
    heartbeatTtl?: number;
    /** ZMQ_SUBSCRIBE (SUB, XSUB): the same as subscribe(topic). Write-only. */
    subscribe?: string | Uint8Array;
    /** ZMQ_UNSUBSCRIBE (SUB, XSUB): the same as unsubscribe(topic). Write-only. */
    unsubscribe?: string | Uint8Array;
    /** ZMQ_XPUB_VERBOSE (XPUB): pass on duplicate subscriptions too. */
    xpubVerbose?: boolean;
    /** ZMQ_XPUB_VERBOSER (XPUB): pass on duplicate subscriptions and unsubscriptions. */
    xpubVerboser?: boolean;
    /** ZMQ_XPUB_NODROP (PUB, XPUB): send() waits instead of dropping for a full subscriber. */
    xpubNodrop?: boolean;
    /** ZMQ_ONLY_FIRST_SUBSCRIBE (XPUB, XSUB): only a message's first frame can be a subscription. */
    onlyFirstSubscribe?: boolean;
    /** ZMQ_REQ_RELAXED (REQ): a new request may go before the last one's reply arrived. */
    reqRelaxed?: boolean;
    /** ZMQ_REQ_CORRELATE (REQ): requests carry an id that replies must echo. */
    reqCorrelate?: boolean;
    /** ZMQ_ROUTER_MANDATORY (ROUTER): unroutable messages fail (EHOSTUNREACH) instead of being dropped. */
    routerMandatory?: boolean;
    /** ZMQ_ROUTER_HANDOVER (ROUTER): a new peer with a routing id in use takes it over. */
    routerHandover?: boolean;
    /** ZMQ_PROBE_ROUTER (DEALER, REQ, ROUTER): send an empty message on each new connection. */
    probeRouter?: boolean;
    /** ZMQ_CONNECT_ROUTING_ID (ROUTER): the routing id under which the next connect's peer is known. */
    connectRoutingId?: string | Uint8Array;
    /** ZMQ_PLAIN_SERVER. A page is a client: with PLAIN or CURVE options set it offers the browser-safe subprotocols `ZWS2.0.isomq-plain1` / `ZWS2.0.isomq-curve1`, which isomq servers accept (docs/wire.md §10.10). */
    plainServer?: boolean;
    /** ZMQ_PLAIN_USERNAME (at most 255 bytes): makes the socket a PLAIN client. */
    plainUsername?: string | Uint8Array;
    /** ZMQ_PLAIN_PASSWORD (at most 255 bytes): makes the socket a PLAIN client. Never readable back in logs. */
    plainPassword?: string | Uint8Array;
    /** ZMQ_CURVE_SERVER: the socket is a CURVE server (needs curveSecretkey). */
    curveServer?: boolean;
    /** ZMQ_CURVE_PUBLICKEY: 40 characters of Z85 or 32 bytes. */
    curvePublickey?: string | Uint8Array;
    /** ZMQ_CURVE_SECRETKEY: 40 characters of Z85 or 32 bytes. */
    curveSecretkey?: string | Uint8Array;
    /** ZMQ_CURVE_SERVERKEY: the server's public key, 40 characters of Z85 or 32 bytes; makes the socket a CURVE client. */
    curveServerkey?: string | Uint8Array;
    /** ZMQ_ZAP_DOMAIN (at most 255 bytes). */
    zapDomain?: string | Uint8Array;
    /** ZMQ_ZAP_ENFORCE_DOMAIN. */
    zapEnforceDomain?: boolean;
    /** isomq's WS_ORIGIN, for native ws:// listeners (a page cannot listen): adds an allowed browser Origin; an empty value clears the list. */
    wsOrigin?: string | Uint8Array;
    /** ZMQ_WSS_CERT_PEM, for native wss:// listeners; a page's wss:// is the browser's TLS, so this has no effect in a page. */
    wssCertPem?: string | Uint8Array;
    /** ZMQ_WSS_KEY_PEM (write-only), for native wss:// listeners; no effect in a page. */
    wssKeyPem?: string | Uint8Array;
    /** ZMQ_WSS_TRUST_PEM, for native wss:// connects; a page trusts what its browser trusts. */
    wssTrustPem?: string | Uint8Array;
    /** ZMQ_WSS_TRUST_SYSTEM, for native wss:// connects; no effect in a page. */
    wssTrustSystem?: boolean;
    /** ZMQ_WSS_HOSTNAME, for native wss:// connects; no effect in a page. */
    wssHostname?: string | Uint8Array;
}

/** Options of one connect(). */
export interface ConnectOptions {
    /**
     * ZWS subprotocols to offer, best first. Default `["ZWS2.0.isomq-batch1", "ZWS2.0"]`:
     * isomq's batch extension (many messages per WebSocket message, with native isomq
     * servers), else bare ZWS 2.0 (libzmq, jszmq, other servers).
     */
    subprotocols?: string[];
}

/** An error from the socket; `code` is ZeroMQ's name (EAGAIN, ETERM, ENOTSUP, EINVAL, ...). */
export interface IsomqError extends Error {
    code: string;
}

/** A ZeroMQ socket. */
export class Socket implements AsyncIterable<Uint8Array[]> {
    /** A new socket; throws (code EINVAL) for an unknown type. */
    constructor(type: SocketType, options?: SocketOptions);
    /** The type, lower case. */
    readonly type: string;
    /**
     * Connects to `ws://host:port/path`, `wss://...` or `inproc://name`. WebSocket
     * connections are made, and remade with backoff after failures, in the background;
     * messages queue up to SNDHWM meanwhile; subscriptions are replayed after each reconnect.
     */
    connect(endpoint: string, options?: ConnectOptions): this;
    /** Binds `inproc://name` (a page cannot accept WebSocket connections). */
    bind(endpoint: string): this;
    /** Undoes a connect() or bind(). */
    disconnect(endpoint: string): void;
    /** SUB/XSUB: receive messages whose first frame starts with `topic` ("" = everything). */
    subscribe(topic?: Frame): void;
    /** SUB/XSUB: undo one subscribe(topic). */
    unsubscribe(topic?: Frame): void;
    /** Sets an option; connection options apply to later connect() calls. Throws (code EINVAL) for an unknown name, a bad value, or an option the socket type lacks. */
    setOption<K extends keyof SocketOptions>(name: K, value: SocketOptions[K]): void;
    /** Reads an option: a number, a boolean, or the bytes of an id. Throws (code EINVAL) for subscribe/unsubscribe. */
    getOption(name: Exclude<keyof SocketOptions, "subscribe" | "unsubscribe">): number | boolean | Uint8Array;
    /** Inbound messages dropped because RCVHWM was reached. */
    readonly dropped: number;
    /** Sends one message (a frame or an array of frames); resolves when the socket took it. */
    send(message: Frame | Frame[]): Promise<void>;
    /** Receives one message as its frames. */
    recv(): Promise<Uint8Array[]>;
    /** Iterates over received messages until the socket is closed. */
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array[]>;
    /** "connect": a connection completed its handshake; "disconnect": it was lost. */
    on(event: "connect" | "disconnect", listener: (endpoint: string) => void): this;
    /** Removes a listener. */
    off(event: "connect" | "disconnect", listener: (endpoint: string) => void): this;
    /**
     * Closes the socket, as ZeroMQ's zmq_close: at once for the application (pending and
     * later send()/recv() reject with code ETERM; connect(), bind() and setOption() throw
     * it), while each ws:// connection keeps delivering the messages the socket took
     * (send() resolved), reconnecting if need be, within `linger`: forever by default (0
     * for SUB and XSUB), 0 = drop them. A connection is done once its WebSocket has sent
     * everything (its `bufferedAmount` is 0), or when `linger` runs out (what is left is
     * dropped), and then closes with code 1000. The promise resolves when every connection
     * is done: at once when there are none or nothing is queued. Calling close() again
     * returns the same promise.
     */
    close(): Promise<void>;
}

/**
 * The WebSocket class to dial with (default: `globalThis.WebSocket`). For Node 20 without
 * `--experimental-websocket`: `setWebSocket((await import("ws")).WebSocket)`. `null` restores
 * the default.
 */
export function setWebSocket(cls: (new (url: string, protocols?: string[]) => unknown) | null): void;

/** A frame's bytes decoded as UTF-8. */
export function text(frame: Uint8Array): string;
