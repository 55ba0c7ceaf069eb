// Debian's nginx for the browser tests: a test CA and server certificate (openssl CLI), a
// port chosen by the OS, and nginx run from a folder of its own (-p DIR: pid, logs and
// temp files inside it, daemon off) as an unprivileged user, with a site file from the
// repository filled in the way its comments say (envsubst's ${NAME} placeholders).

import { spawn, spawnSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, watch, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { PATIENCE } from "./harness.mjs";

export const NGINX = process.env.ISOMQ_NGINX ?? "/usr/sbin/nginx";

function run(cmd, args, options = {}) {
  const out = spawnSync(cmd, args, { encoding: "utf8", ...options });
  if (out.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.status ?? out.error}): ${out.stderr}`);
  }
  return out.stdout;
}

/**
 * A test CA and a server certificate it signs for 127.0.0.1 and localhost, in `dir`:
 * `{ chain, key, caSpki }`, where `chain` is the server certificate then the CA's (what
 * the server presents) and `caSpki` the base64 SHA-256 of the CA's public key, the form
 * Chromium's --ignore-certificate-errors-spki-list takes.
 */
export function testCertificates(dir) {
  const at = (name) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run("openssl", ["req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.pem"),
    "-days", "2", "-subj", "/CN=isomq test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  run("openssl", ["req", ...ec, "-keyout", at("server.key"), "-out", at("server.csr"),
    "-subj", "/CN=127.0.0.1"]);
  writeFileSync(at("server.ext"), [
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
  ].join("\n"));
  run("openssl", ["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.pem"),
    "-CAkey", at("ca.key"), "-set_serial", "2", "-days", "2",
    "-extfile", at("server.ext"), "-out", at("server.pem")]);
  writeFileSync(at("chain.pem"), readFileSync(at("server.pem"), "utf8") + readFileSync(at("ca.pem"), "utf8"));
  const ca = new X509Certificate(readFileSync(at("ca.pem")));
  const spki = ca.publicKey.export({ type: "spki", format: "der" });
  return {
    chain: at("chain.pem"),
    key: at("server.key"),
    caSpki: createHash("sha256").update(spki).digest("base64"),
  };
}

/**
 * A loopback port chosen by the OS, held open until `release()` so that nothing else
 * started meanwhile (the dashboard binding port 0) can be given it: `{ port, release }`.
 */
export function holdFreePort() {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: server.address().port,
        release: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}

/**
 * `template` with `${NAME}` replaced for each name in `values` and nothing else, as
 * `envsubst '${NAME} ...'` does; a placeholder left in a directive fails nginx -t.
 */
export function fillTemplate(template, values) {
  return template.replace(/\$\{(\w+)\}/g, (whole, name) => values[name] ?? whole);
}

/** nginx's main configuration for a run from `dir`, around the site file `site`. */
function mainConf(site) {
  return `daemon off;
worker_processes 1;
pid nginx.pid;
error_log error.log info;
events { worker_connections 64; }
http {
    access_log access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include ${site};
}
`;
}

/**
 * nginx runs as the user running the test, or as `nobody` when that is root: then `dir`
 * and everything in it become nobody's, for nginx to read its keys and write its logs.
 */
function unprivileged(dir) {
  if (process.getuid() !== 0) return [];
  const uid = Number(run("id", ["-u", "nobody"]));
  const gid = Number(run("id", ["-g", "nobody"]));
  chownSync(dir, uid, gid);
  for (const name of readdirSync(dir, { recursive: true })) chownSync(join(dir, name), uid, gid);
  return ["setpriv", "--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--"];
}

/**
 * Fills `sitePath` with `values` into `dir`, checks the configuration (nginx -t) and starts
 * nginx; resolves to its process once the pid file exists, which nginx writes after it has
 * opened its listening sockets.
 */
export async function startNginx(dir, sitePath, values) {
  if (!existsSync(NGINX)) throw new Error(`no ${NGINX}: scripts/test installs Debian's nginx`);
  writeFileSync(join(dir, "site.conf"), fillTemplate(readFileSync(sitePath, "utf8"), values));
  writeFileSync(join(dir, "nginx.conf"), mainConf(join(dir, "site.conf")));
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const [wrapper = NGINX, ...wrapperArgs] = [...unprivileged(dir), NGINX];
  const nginxArgs = ["-p", `${dir}/`, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")];
  run(wrapper, [...wrapperArgs, "-t", ...nginxArgs]);

  const proc = spawn(wrapper, [...wrapperArgs, ...nginxArgs], { stdio: ["ignore", "inherit", "inherit"] });
  const pidFile = join(dir, "nginx.pid");
  await new Promise((resolve, reject) => {
    const log = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
    const timer = setTimeout(() => done(new Error(`nginx did not start: ${log()}`)), PATIENCE);
    const watcher = watch(dir, () => existsSync(pidFile) && done());
    const onExit = (code) => done(new Error(`nginx exited (${code}): ${log()}`));
    proc.on("exit", onExit);
    function done(error) {
      clearTimeout(timer);
      watcher.close();
      proc.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    }
    // The pid file may have appeared before the watch began.
    if (existsSync(pidFile)) done();
  });
  return proc;
}
