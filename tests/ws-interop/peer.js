// A jszmq socket driven over stdio, like `isomq cat`: each stdin line is sent as a message
// (TAB separates frames), each received message is printed as a line. A bind prints
// `bound <endpoint>` on stderr once it listens.
//
//   node peer.js <push|pull|pub|sub> (--bind ws://127.0.0.1:0/path | --connect EP) [--subscribe T]
'use strict';

const http = require('http');
const readline = require('readline');
const zmq = require('jszmq');

const [type, mode, endpoint, ...rest] = process.argv.slice(2);
const sock = zmq.socket(type);

if (type === 'sub') {
  const i = rest.indexOf('--subscribe');
  sock.subscribe(i >= 0 ? rest[i + 1] : '');
}

sock.on('message', (...frames) => {
  process.stdout.write(Buffer.concat([Buffer.from(frames.map((f) => f.toString('latin1')).join('\t'), 'latin1'), Buffer.from('\n')]));
});

if (mode === '--bind') {
  // jszmq binds a fixed port; an HTTP server on port 0 lets the kernel pick it.
  const url = new URL(endpoint);
  const server = http.createServer();
  server.listen(0, url.hostname, () => {
    const bound = `ws://${url.hostname}:${server.address().port}${url.pathname}`;
    sock.bind(bound, server);
    // jszmq speaks only bare ZWS2.0, but its `ws` server echoes the first token a client
    // offers; libzmq and isomq offer "ZWS2.0/NULL,ZWS2.0". Pick the token jszmq speaks.
    sock.binds[0].server.options.handleProtocols = (offered) =>
      [...offered].includes('ZWS2.0') ? 'ZWS2.0' : false;
    process.stderr.write(`bound ${bound}\n`);
  });
} else {
  sock.connect(endpoint);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => sock.send(line.split('\t')));
// At end of input, give queued messages a moment on the wire before exiting.
lines.on('close', () => setTimeout(() => process.exit(0), 500));
