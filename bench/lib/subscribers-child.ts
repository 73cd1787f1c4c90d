/**
 * Child process: a driver that holds idle subscribers, so that more sockets than one process's open-files limit
 * allows can be opened against a server (the memory benchmark runs several). Environment: `SUBSCRIBERS_URL` (the
 * server's base URL), `SUBSCRIBERS_KIND` (`pusher`: raw Pusher protocol 7 sockets, each subscribed to its own private
 * channel with a signature from `/rest/pusher/auth`; `bare`: bare `ws` sockets on the baseline server),
 * `SUBSCRIBERS_API_KEY`, `SUBSCRIBERS_FROM` and `SUBSCRIBERS_COUNT` (socket i is on `private-Bench.Idle.<FROM + i>`). It announces itself at
 * once and then opens the sockets; `stats().sockets` is how many are open so far. A failure exits with code 1.
 */
import { openBaselineSockets, openRawPusherSockets } from "./clients";
import { HttpClient } from "./http";
import { announce, serveParent } from "./ipc";

async function main(): Promise<void> {
    const url = process.env.SUBSCRIBERS_URL ?? "";
    const from = Number(process.env.SUBSCRIBERS_FROM ?? 0);
    const count = Number(process.env.SUBSCRIBERS_COUNT ?? 0);
    const kind = process.env.SUBSCRIBERS_KIND === "bare" ? "bare" : "pusher";
    const http = new HttpClient(url, 32);
    let opened = 0;
    let close = (): void => undefined;
    serveParent({
        sockets: () => opened,
        close: async () => {
            close();
            http.close();
        }
    });
    announce(url);
    const channelsOf = (index: number): string[] => [`private-Bench.Idle.${from + index}`];
    const pool =
        kind === "bare"
            ? await openBaselineSockets({ url, count, channelsOf, concurrency: 100 })
            : await openRawPusherSockets({
                  http,
                  apiKey: process.env.SUBSCRIBERS_API_KEY ?? "",
                  count,
                  channelsOf,
                  concurrency: 100
              });
    close = () => pool.close();
    http.close();
    opened = pool.sockets.length;
}

main().catch((error: unknown) => {
    console.error("bench subscribers child failed:", error);
    process.exit(1);
});
