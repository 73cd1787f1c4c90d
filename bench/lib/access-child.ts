/**
 * Child process: a fake Mendix access check (`POST /rest/notifylisten/v1/access`) that answers 200
 * `{ "user": "bench" }` after reading the body, at once (the auth benchmark measures the companion server, not the
 * Mendix app) or after `ACCESS_DELAY_MS` (the reconnect storm: a Mendix microflow takes a while). It counts the
 * checks it holds at once: `GET /stats` answers `{ inFlight, peak, total }`, `POST /stats/reset` starts them over.
 */
import http from "node:http";
import { listenForParent } from "./ipc";

const ANSWER = JSON.stringify({ user: "bench" });
const ACCESS_PATH = "/rest/notifylisten/v1/access";
const delayMs = Number(process.env.ACCESS_DELAY_MS ?? 0);
const counts = { inFlight: 0, peak: 0, total: 0 };

function answer(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
}

const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
        if (req.method === "POST" && req.url === ACCESS_PATH) {
            counts.inFlight++;
            counts.total++;
            counts.peak = Math.max(counts.peak, counts.inFlight);
            const done = (): void => {
                counts.inFlight--;
                answer(res, 200, ANSWER);
            };
            if (delayMs > 0) {
                setTimeout(done, delayMs);
            } else {
                done();
            }
        } else if (req.method === "GET" && req.url === "/stats") {
            answer(res, 200, JSON.stringify(counts));
        } else if (req.method === "POST" && req.url === "/stats/reset") {
            counts.peak = counts.inFlight;
            counts.total = 0;
            answer(res, 200, JSON.stringify(counts));
        } else {
            res.writeHead(404).end();
        }
    });
});

listenForParent(server);
