/**
 * Child process: the framework floor of the notify API. A minimal Express 5 endpoint, `POST /rest/pusher/notify`
 * with `express.json()` and `res.json()`, nothing else: no validation, no API key, no rate limit, no logs, no
 * broker. What the companion server's notify route costs beyond it is the product's own request chain.
 */
import http from "node:http";
import express from "express";
import { listenForParent } from "./ipc";

const app = express();
app.post("/rest/pusher/notify", express.json(), (req, res) => {
    const body = req.body as { entity?: string; guid?: string };
    res.json({ triggered: 1, channels: [`private-${body.entity}.${body.guid}`] });
});

const server = http.createServer(app);
listenForParent(server);
