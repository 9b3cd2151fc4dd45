// N sequential requests through Node's global agent (keep-alive by default since Node 19):
// GETs, POSTs with a Content-Length body and POSTs with a chunked body (no Content-Length).
// Prints one JSON line: {"statuses": {...}, "errors": [...], "sockets": <distinct local ports>}.
const http = require("node:http");

const [url, count] = [process.argv[2], Number(process.argv[3] || 100)];
const paths = JSON.parse(process.argv[4] || '{"get": "/ping", "post": "/echo"}');

function call(i) {
  return new Promise((resolve) => {
    const kind = ["get", "post", "chunked"][i % 3];
    const body = JSON.stringify({ i, pad: "x".repeat(i * 37) });
    const headers = kind === "post" ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      : kind === "chunked" ? { "content-type": "application/json" } : {};
    const req = http.request(url + (kind === "get" ? paths.get : paths.post),
      { method: kind === "get" ? "GET" : "POST", headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, port: req.socket && req.socket.localPort,
          body: Buffer.concat(chunks).toString(), connection: res.headers.connection }));
      });
    req.on("error", (error) => resolve({ error: `${kind} #${i}: ${error.message}` }));
    if (kind === "chunked") { req.write(body.slice(0, 5)); req.write(body.slice(5)); req.end(); }
    else if (kind === "post") req.end(body);
    else req.end();
  });
}

(async () => {
  const statuses = {}, errors = [], ports = new Set(), closes = [];
  for (let i = 0; i < count; i++) {
    const r = await call(i);
    if (r.error) { errors.push(r.error); continue; }
    statuses[r.status] = (statuses[r.status] || 0) + 1;
    ports.add(r.port);
    if (r.connection === "close") closes.push(i);
  }
  console.log(JSON.stringify({ statuses, errors, sockets: ports.size, closes,
                               keepAlive: http.globalAgent.keepAlive }));
})();
