import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { resetTestSession, setTestSession } from "../../__tests__/shims/mendixSession";
import * as shim from "../../__tests__/shims/mendixSession";
import { getCsrfToken, getCurrentUserName, loadSessionModule, sessionModuleLoaded } from "../session";

type WindowWithMx = Window & { mx?: unknown };

/** The documented client API, as the Mendix client sets it on `window.mx.session`. */
const documented = {
    getConfig: (key: string) => (key === "csrftoken" ? "documented-token" : undefined),
    getUserName: () => "documented-user"
};

describe("session facts", () => {
    beforeAll(async () => {
        // vitest.config.ts aliases mendix/session to the test shim: the dynamic import finds it.
        await expect(sessionModuleLoaded).resolves.toBe(true);
    });

    afterEach(async () => {
        delete (window as WindowWithMx).mx;
        resetTestSession();
        await loadSessionModule(() => Promise.resolve(shim));
    });

    it("come from the documented mx.session API first, even when mendix/session is there", () => {
        setTestSession({ csrfToken: "module-token", userName: "module-user" });
        (window as WindowWithMx).mx = { session: documented };
        expect(getCsrfToken()).toBe("documented-token");
        expect(getCurrentUserName()).toBe("documented-user");
    });

    it("come from mendix/session where mx.session lacks getConfig and getUserName", () => {
        setTestSession({ csrfToken: "token-1", userName: "john" });
        (window as WindowWithMx).mx = { session: { sessionData: { csrftoken: "data-token" } } };
        expect(getCsrfToken()).toBe("token-1");
        expect(getCurrentUserName()).toBe("john");
    });

    it("skip mendix/session when its functions throw", () => {
        setTestSession({ unavailable: true });
        (window as WindowWithMx).mx = {
            session: {
                sessionData: { csrftoken: "data-token", user: { attributes: { Name: { value: "data-user" } } } }
            }
        };
        expect(getCsrfToken()).toBe("data-token");
        expect(getCurrentUserName()).toBe("data-user");
    });

    it("work where the Mendix client does not provide mendix/session: the import fails, nothing throws", async () => {
        await expect(
            loadSessionModule(() => Promise.reject(new TypeError("Failed to resolve module specifier")))
        ).resolves.toBe(false);
        expect(getCsrfToken()).toBeUndefined();
        (window as WindowWithMx).mx = { session: documented };
        expect(getCsrfToken()).toBe("documented-token");
        expect(getCurrentUserName()).toBe("documented-user");
        (window as WindowWithMx).mx = {
            sessionData: { csrftoken: "mx-data-token", user: { attributes: { Name: { value: "mx-data-user" } } } }
        };
        expect(getCsrfToken()).toBe("mx-data-token");
        expect(getCurrentUserName()).toBe("mx-data-user");
    });

    it("skip sources that throw or give empty strings", () => {
        setTestSession({ csrfToken: "", userName: "" });
        (window as WindowWithMx).mx = {
            session: {
                getConfig: () => {
                    throw new Error("not in this client");
                },
                getUserName: () => ""
            },
            sessionData: { csrftoken: "last-token", user: { attributes: { Name: { value: "last-user" } } } }
        };
        expect(getCsrfToken()).toBe("last-token");
        expect(getCurrentUserName()).toBe("last-user");
    });

    it("are undefined when no source has them", () => {
        setTestSession({ unavailable: true });
        expect(getCsrfToken()).toBeUndefined();
        expect(getCurrentUserName()).toBeUndefined();
    });
});
