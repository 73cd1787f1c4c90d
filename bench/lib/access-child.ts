/**
 * Child process: a fake Mendix access check (`POST /rest/notifylisten/v1/access`) that answers at
 * once with 200 `{ "user": "bench" }` after reading the body, so the auth benchmark measures the
 * companion server and not the Mendix app.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { announce, serveParent } from "./ipc";

const ANSWER = JSON.stringify({ user: "bench" });

const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
        if (req.method === "POST" && req.url === "/rest/notifylisten/v1/access") {
            res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(ANSWER) });
            res.end(ANSWER);
        } else {
            res.writeHead(404).end();
        }
    });
});

server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    serveParent({
        sockets: () => 0,
        close: async () => {
            server.closeAllConnections();
            await new Promise<void>(resolve => server.close(() => resolve()));
        }
    });
    announce(`http://127.0.0.1:${port}`);
});
