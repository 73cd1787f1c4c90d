/**
 * Child process: the framework floor of the notify API. A minimal Express 5 endpoint, `POST /rest/pusher/notify`
 * with `express.json()` and `res.json()`, nothing else: no validation, no API key, no rate limit, no logs, no
 * broker. What the companion server's notify route costs beyond it is the product's own request chain.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { announce, serveParent } from "./ipc";

const app = express();
app.post("/rest/pusher/notify", express.json(), (req, res) => {
    const body = req.body as { entity?: string; guid?: string };
    res.json({ triggered: 1, channels: [`private-${body.entity}.${body.guid}`] });
});

const server = http.createServer(app);
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
