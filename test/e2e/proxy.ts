/**
 * A TCP proxy between the browser and the server (127.0.0.1 only) that can cut the page's connections for a while
 * without touching the server: `cut()` resets every connection through it (the browser sees the WebSocket and any
 * keep-alive HTTP connection drop, as on a Wi-Fi drop or a closed laptop lid) and resets new ones until `restore()`.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface CuttableProxy {
    /** `http://127.0.0.1:<port>`: open the page here. */
    readonly url: string;
    readonly port: number;
    /** Connections through the proxy right now. */
    readonly open: number;
    /** Connections reset by `cut()` or refused while cut, so far. */
    readonly resets: number;
    /** Resets every connection and every new one until `restore()`. */
    cut(): void;
    restore(): void;
    close(): Promise<void>;
}

/** Starts a proxy to `target` (`http://127.0.0.1:<port>` of the server). */
export async function startProxy(target: string): Promise<CuttableProxy> {
    const { hostname, port: targetPort } = new URL(target);
    const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
    let cut = false;
    let resets = 0;

    const reset = (socket: net.Socket): void => {
        // An RST like a broken network path, not a polite FIN.
        if (!socket.destroyed) {
            socket.resetAndDestroy();
        }
    };

    const server = net.createServer(client => {
        if (cut) {
            resets++;
            reset(client);
            return;
        }
        const upstream = net.connect(Number(targetPort), hostname);
        const pair = { client, upstream };
        pairs.add(pair);
        const end = (): void => {
            pairs.delete(pair);
            client.destroy();
            upstream.destroy();
        };
        client.on("error", end);
        upstream.on("error", end);
        client.on("close", end);
        upstream.on("close", end);
        client.pipe(upstream);
        upstream.pipe(client);
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    return {
        url: `http://127.0.0.1:${port}`,
        port,
        get open() {
            return pairs.size;
        },
        get resets() {
            return resets;
        },
        cut() {
            cut = true;
            for (const pair of [...pairs]) {
                resets++;
                pairs.delete(pair);
                reset(pair.client);
                pair.upstream.destroy();
            }
        },
        restore() {
            cut = false;
        },
        close: () =>
            new Promise<void>(resolve => {
                for (const pair of pairs) {
                    pair.client.destroy();
                    pair.upstream.destroy();
                }
                pairs.clear();
                server.close(() => resolve());
            })
    };
}
