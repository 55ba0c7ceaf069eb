// The npm package as a bundled app uses it: imported by name, its WebAssembly found by the
// bundler. Results go to window.__isomq for tests/browser/vite.test.mjs; `?ws=<endpoint>`
// names a REP echo peer for the ws:// round trip. `isomq` is not in package.json: the test
// installs the tarball `npm pack` makes of the working tree (`npm install --no-save`), so the
// lock file stays put and what runs is what users install.
import { Socket, text } from "isomq";

const result = { inproc: null, ws: null, errors: [], done: false };
window.__isomq = result;
const out = document.getElementById("out");

async function inprocRoundTrip() {
    const pull = new Socket("pull").bind("inproc://vite");
    const push = new Socket("push").connect("inproc://vite");
    try {
        await push.send(["bundled", "inproc"]);
        return (await pull.recv()).map(text);
    } finally {
        push.close();
        pull.close();
    }
}

async function wsRoundTrip(endpoint) {
    const req = new Socket("req").connect(endpoint);
    try {
        await req.send(["bundled", "ws"]);
        return (await req.recv()).map(text);
    } finally {
        req.close();
    }
}

try {
    result.inproc = await inprocRoundTrip();
    const ws = new URLSearchParams(location.search).get("ws");
    if (ws) {
        result.ws = await wsRoundTrip(ws);
    }
} catch (e) {
    result.errors.push(String(e?.stack ?? e));
}
result.done = true;
out.textContent = JSON.stringify(result, null, 2);
