/** Small helpers shared by the connection's tests. */
import { resolveServer, type ServerEndpoints } from "../../utils/endpoints";
import { ListenError } from "../../utils/errors";

/** Endpoints of a server at `serverUrl` (default: the app's own origin) for a page on http://app.test/. */
export function endpoints(serverUrl = ""): ServerEndpoints {
    const result = resolveServer(serverUrl, "http://app.test/");
    if (!result.ok) {
        throw new Error(result.message);
    }
    return result.endpoints;
}

/** The ListenError a request rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<ListenError> {
    try {
        await promise;
    } catch (error) {
        if (error instanceof ListenError) {
            return error;
        }
        throw error;
    }
    throw new Error("expected a ListenError");
}
