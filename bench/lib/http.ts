/**
 * A minimal keep-alive HTTP client (node:http, no fetch overhead) and a bounded closed-loop load
 * generator. Every request has a timeout; every load run has a request cap and a deadline.
 */
import http from "node:http";
import { now } from "./stats";

const REQUEST_TIMEOUT_MS = 10_000;
const FREE_SOCKET_TIMEOUT_MS = 3_000;

export interface HttpAnswer {
    status: number;
    body: string;
    headers: http.IncomingHttpHeaders;
}

export class HttpClient {
    private readonly agent: http.Agent;
    private readonly base: URL;

    constructor(baseUrl: string, maxSockets = 16) {
        this.base = new URL(baseUrl);
        // Idle sockets close after 3 s, before the server's 5 s keep-alive timeout can race a reuse.
        this.agent = new http.Agent({ keepAlive: true, maxSockets, timeout: FREE_SOCKET_TIMEOUT_MS });
    }

    request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
        return new Promise((resolve, reject) => {
            const outgoing: Record<string, string | number> = { ...headers };
            if (body !== undefined) {
                outgoing["Content-Length"] = Buffer.byteLength(body);
            }
            const req = http.request(
                {
                    host: this.base.hostname,
                    port: this.base.port,
                    method,
                    path,
                    agent: this.agent,
                    headers: outgoing,
                    timeout: REQUEST_TIMEOUT_MS
                },
                res => {
                    const chunks: Buffer[] = [];
                    res.on("data", (chunk: Buffer) => chunks.push(chunk));
                    res.on("end", () =>
                        resolve({
                            status: res.statusCode ?? 0,
                            body: Buffer.concat(chunks).toString("utf8"),
                            headers: res.headers
                        })
                    );
                    res.on("error", reject);
                }
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
            req.on("error", reject);
            req.end(body);
        });
    }

    get(path: string, headers?: Record<string, string>): Promise<HttpAnswer> {
        return this.request("GET", path, undefined, headers);
    }

    postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
        return this.request("POST", path, typeof body === "string" ? body : JSON.stringify(body), {
            "Content-Type": "application/json",
            ...headers
        });
    }

    postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpAnswer> {
        return this.request("POST", path, new URLSearchParams(fields).toString(), {
            "Content-Type": "application/x-www-form-urlencoded",
            ...headers
        });
    }

    close(): void {
        this.agent.destroy();
    }
}

export interface LoadOptions {
    /** Requests in flight at once. */
    concurrency: number;
    /** Stop issuing new requests after this long (ms). */
    durationMs: number;
    /** Never issue more than this many requests. */
    maxRequests: number;
    /** One request; resolves true when the answer was the expected one. */
    task: (index: number) => Promise<boolean>;
}

export interface LoadResult {
    requests: number;
    ok: number;
    failed: number;
    elapsedMs: number;
    /** Successful requests per second. */
    perSecond: number;
    /** Latency of each successful request (ms). */
    latencies: number[];
}

/** Closed-loop load: `concurrency` workers, each issuing the next request when the previous one ended. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
    const started = now();
    const deadline = started + options.durationMs;
    let issued = 0;
    let ok = 0;
    let failed = 0;
    const latencies: number[] = [];
    const worker = async (): Promise<void> => {
        while (issued < options.maxRequests && now() < deadline) {
            const index = issued++;
            const t0 = now();
            let good = false;
            try {
                good = await options.task(index);
            } catch {
                good = false;
            }
            if (good) {
                ok++;
                latencies.push(now() - t0);
            } else {
                failed++;
            }
        }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedMs = now() - started;
    return { requests: issued, ok, failed, elapsedMs, perSecond: (ok / elapsedMs) * 1000, latencies };
}
