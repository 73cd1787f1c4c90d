import { afterEach, describe, expect, it } from "vitest";
import { setTestSession } from "../../__tests__/shims/mendixSession";
import { getCsrfToken, getCurrentUserName } from "../session";

type WindowWithMx = Window & { mx?: unknown };

describe("session facts", () => {
    afterEach(() => {
        delete (window as WindowWithMx).mx;
    });

    it("come from mendix/session", () => {
        setTestSession({ csrfToken: "token-1", userName: "john" });
        expect(getCsrfToken()).toBe("token-1");
        expect(getCurrentUserName()).toBe("john");
    });

    it("fall back to window.mx.session when mendix/session throws", () => {
        setTestSession({ unavailable: true });
        (window as WindowWithMx).mx = {
            session: {
                getConfig: (key: string) => (key === "csrftoken" ? "legacy-token" : undefined),
                getUserName: () => "legacy-user"
            }
        };
        expect(getCsrfToken()).toBe("legacy-token");
        expect(getCurrentUserName()).toBe("legacy-user");
    });

    it("fall back to mx.session.sessionData", () => {
        setTestSession({ unavailable: true });
        (window as WindowWithMx).mx = {
            session: {
                sessionData: { csrftoken: "data-token", user: { attributes: { Name: { value: "data-user" } } } }
            }
        };
        expect(getCsrfToken()).toBe("data-token");
        expect(getCurrentUserName()).toBe("data-user");
    });

    it("are undefined when neither is available", () => {
        setTestSession({ unavailable: true });
        expect(getCsrfToken()).toBeUndefined();
        expect(getCurrentUserName()).toBeUndefined();
    });
});
