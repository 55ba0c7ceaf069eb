// The job page: one REQ socket; each job is a request, each result a reply. Jobs wait in a
// local queue because REQ allows one request in flight at a time.
import { Socket, text } from "isomq";

const state = { connected: false, results: [], errors: [] };
window.__jobs = state;

const config = await (await fetch("/config.json")).json();
const req = new Socket("req");
const status = document.getElementById("status");
req.on("connect", () => {
  state.connected = true;
  status.textContent = "connected to the broker";
});
req.on("disconnect", () => {
  state.connected = false;
  status.textContent = "reconnecting…";
});
req.connect(config.jobs);

const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const job = queue.shift();
    try {
      await req.send(job);
      const [reply] = await req.recv();
      const result = JSON.parse(text(reply));
      state.results.push({ job, ...result });
      const li = document.createElement("li");
      li.textContent = `worker ${result.worker}: ${result.words} words, ${result.chars} chars → ${result.upper}`;
      document.getElementById("results").append(li);
    } catch (e) {
      state.errors.push(String(e));
    }
  }
  busy = false;
}

function submit(n) {
  const job = document.getElementById("text").value;
  for (let i = 0; i < n; i++) queue.push(n > 1 ? `${job} #${i + 1}` : job);
  drain();
}

document.getElementById("submit").addEventListener("click", () => submit(1));
document.getElementById("burst").addEventListener("click", () => submit(5));
