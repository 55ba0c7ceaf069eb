// The dashboard page: an isomq SUB socket (WebAssembly) subscribed to host metrics on the
// gateway's WebSocket endpoint, and a PUSH socket sending commands back to the native side.
import { Socket, curveKeypair } from "isomq";
import uPlot from "uplot";

const WINDOW = 120; // points kept per chart

// Each topic's series: which JSON fields to plot.
const TOPICS = {
  cpu: { title: "CPU use (%)", fields: ["percent"] },
  mem: { title: "Memory used (MiB)", fields: ["used_mib"] },
  load: { title: "Load average", fields: ["1m", "5m", "15m"] },
  net: { title: "Network (KiB/s)", fields: ["rx_kib_s", "tx_kib_s"] },
};

// State the browser tests read (window.__dashboard).
const state = { received: {}, lastRate: null, connected: false, errors: [] };
window.__dashboard = state;

const charts = {};
for (const [topic, spec] of Object.entries(TOPICS)) {
  const box = document.createElement("div");
  box.className = "chart";
  box.id = `chart-${topic}`;
  box.innerHTML = `<h2>${spec.title} <small class="value"></small></h2>`;
  document.getElementById("charts").append(box);
  const data = [[], ...spec.fields.map(() => [])];
  const plot = new uPlot(
    {
      width: 420,
      height: 180,
      series: [{}, ...spec.fields.map((f, i) => ({ label: f, stroke: ["#3182ce", "#dd6b20", "#38a169"][i] }))],
    },
    data,
    box,
  );
  charts[topic] = { box, data, plot, spec };
  state.received[topic] = 0;
}

function plotSample(topic, value) {
  const c = charts[topic];
  if (!c) return;
  const t = Date.now() / 1000;
  c.data[0].push(t);
  c.spec.fields.forEach((f, i) => c.data[i + 1].push(value[f]));
  if (c.data[0].length > WINDOW) c.data.forEach((s) => s.shift());
  c.plot.setData(c.data);
  c.box.querySelector(".value").textContent = c.spec.fields.map((f) => `${f}=${value[f]}`).join(" ");
  state.received[topic] += 1;
}

const config = await (await fetch("/config.json")).json();
const decoder = new TextDecoder();

// The sockets' URLs follow the page's own: wss:// for a page loaded over https (a browser
// refuses ws:// there), the page's host, and the gateway's ws port, or no port of their own
// when a reverse proxy serves page and sockets at one origin (config.wsPort is null).
const wsScheme = location.protocol === "https:" ? "wss:" : "ws:";
const wsHost = config.wsPort == null ? location.host : `${location.hostname}:${config.wsPort}`;
const endpoint = (path) => `${wsScheme}//${wsHost}${path}`;
state.endpoints = { metrics: endpoint(config.metrics), control: endpoint(config.control) };

// CURVE end to end with the gateway: the page makes a key pair of its own and knows the
// gateway's public key from the config; nothing crosses the network in clear.
const { secretKey } = curveKeypair();
const security = { curveServerkey: config.serverKey, curveSecretkey: secretKey };
const sub = new Socket("sub", security);
const status = document.getElementById("status");
sub.on("connect", () => {
  state.connected = true;
  status.textContent = "connected";
  status.className = "status up";
});
sub.on("disconnect", () => {
  state.connected = false;
  status.textContent = "reconnecting…";
  status.className = "status down";
});
sub.connect(state.endpoints.metrics);
sub.subscribe("rate");
for (const box of document.querySelectorAll("input[name=topic]")) {
  if (box.checked) sub.subscribe(box.value);
  box.addEventListener("change", () => {
    if (box.checked) sub.subscribe(box.value);
    else sub.unsubscribe(box.value);
    charts[box.value].box.classList.toggle("off", !box.checked);
  });
}

const control = new Socket("push", security);
control.connect(state.endpoints.control);
for (const button of document.querySelectorAll("button[data-rate]")) {
  button.addEventListener("click", async () => {
    await control.send(["rate", button.dataset.rate]);
  });
}

for await (const [topicBytes, body] of sub) {
  const topic = decoder.decode(topicBytes);
  try {
    if (topic === "rate") {
      state.lastRate = Number(decoder.decode(body));
      document.getElementById("rate").textContent = state.lastRate;
    } else {
      plotSample(topic, JSON.parse(decoder.decode(body)));
    }
  } catch (e) {
    state.errors.push(String(e));
  }
}
