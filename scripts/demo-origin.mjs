// A demo origin API on 127.0.0.1: answers every request with what it received, so the
// identity headers the gateway adds are visible.
import http from "node:http";

const port = Number(process.argv[2] ?? 8788);
const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on("data", (c) => { bytes += c.length; });
  req.on("end", () => {
    const identity = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("x-portcullis-")));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ origin: "demo", method: req.method, url: req.url, body_bytes: bytes, identity }, null, 2) + "\n");
  });
});
server.listen(port, "127.0.0.1", () => console.log(`demo origin on http://127.0.0.1:${port}`));
