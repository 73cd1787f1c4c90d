/**
 * Child process: the physical floor. A bare `ws` server on a bare `http` server, no framework, no
 * auth, no logging. Clients connect to `/?channel=<name>`. `POST /publish` with
 * `{ "channel", "event", "data" }` and `POST /batch` with `{ "events": [...] }` send a Pusher-shaped
 * frame `{ "event", "channel", "data" }` (serialized once per event) to every socket of the channel
 * and answer `{ "sent": n }`. `POST /rest/pusher/notify` takes the companion server's notify body
 * (`entity`, `guid`, `action`, `sender`, `data`) and does the same work without checking anything: parse the
 * JSON, build the payload and the frame, write it to the channel's sockets, answer `{ "triggered", "channels" }`.
 *
 * `BASELINE_HTTP=express`: the same routes and the same `ws` server, but the HTTP side is a minimal Express 5 app
 * (`express.json()` + `res.json()`, nothing else): the framework's own share of the notify-to-delivery time.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { WebSocket, WebSocketServer } from "ws";
import { announce, closeHttpServer, serveParent } from "./ipc";

interface BaselineEvent {
    channel: string;
    event: string;
    data: string;
}

const channels = new Map<string, Set<WebSocket>>();
let open = 0;

function publish(event: BaselineEvent): number {
    const sockets = channels.get(event.channel);
    if (sockets === undefined) {
        return 0;
    }
    const frame = Buffer.from(JSON.stringify({ event: event.event, channel: event.channel, data: event.data }));
    let sent = 0;
    for (const ws of sockets) {
        if (ws.readyState === WebSocket.OPEN) {
            ws.send(frame, { binary: false });
            sent++;
        }
    }
    return sent;
}

interface NotifyBody {
    entity: string;
    guid: string;
    action: string;
    sender?: string;
    data?: string;
}

/** The notify route's work at its barest: channel, payload, frame, delivery, answer. */
function notify(body: NotifyBody): object {
    const channel = `private-${body.entity}.${body.guid}`;
    const payload = {
        entity: body.entity,
        guid: body.guid,
        changedDate: new Date().toISOString(),
        sender: body.sender ?? "",
        actionName: body.action,
        data: body.data
    };
    publish({ channel, event: body.action, data: JSON.stringify(payload) });
    return { triggered: 1, channels: [channel] };
}

/** The route's answer, or undefined for an unknown route. */
function route(method: string, url: string, body: unknown): object | undefined {
    if (method === "POST" && url === "/rest/pusher/notify") {
        return notify(body as NotifyBody);
    }
    if (method === "POST" && url === "/publish") {
        return { sent: publish(body as BaselineEvent) };
    }
    if (method === "POST" && url === "/batch") {
        let sent = 0;
        for (const event of (body as { events: BaselineEvent[] }).events) {
            sent += publish(event);
        }
        return { sent };
    }
    return undefined;
}

/** The floor: `node:http`, the body read and parsed by hand. */
function bareHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
        let answer: object | undefined;
        try {
            answer = route(req.method ?? "", req.url ?? "", JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch {
            res.writeHead(400).end();
            return;
        }
        if (answer === undefined) {
            res.writeHead(404).end();
            return;
        }
        const text = JSON.stringify(answer);
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
        res.end(text);
    });
}

/** The same routes in a minimal Express 5 app. */
function expressApp(): express.Express {
    const app = express();
    app.post(["/rest/pusher/notify", "/publish", "/batch"], express.json({ limit: "1mb" }), (req, res) => {
        res.json(route(req.method, req.path, req.body));
    });
    return app;
}

const server = http.createServer(process.env.BASELINE_HTTP === "express" ? expressApp() : bareHandler);

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on("connection", (ws, req) => {
    const names = new URL(req.url ?? "/", "http://localhost").searchParams.getAll("channel");
    for (const name of names) {
        let sockets = channels.get(name);
        if (sockets === undefined) {
            sockets = new Set();
            channels.set(name, sockets);
        }
        sockets.add(ws);
    }
    open++;
    ws.on("error", () => undefined);
    ws.on("close", () => {
        open--;
        for (const name of names) {
            const sockets = channels.get(name);
            sockets?.delete(ws);
            if (sockets?.size === 0) {
                channels.delete(name);
            }
        }
    });
    ws.send(JSON.stringify({ event: "ready", channels: names }));
});

server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    serveParent({
        sockets: () => open,
        close: async () => {
            for (const sockets of channels.values()) {
                sockets.forEach(ws => ws.terminate());
            }
            wss.close();
            await closeHttpServer(server);
        }
    });
    announce(`http://127.0.0.1:${port}`);
});
