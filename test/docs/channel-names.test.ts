/**
 * docs/notify.md against the code: the encoding table of user names is what protocol/user-name.ts encodes, the
 * channels are what the server notifies, and the Call REST bodies for users and broadcasts are valid notifications.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { channelForTopic, decodeUserName, encodeUserName, userTopic } from "../../protocol";
import { notificationSchema } from "../../server/routes/notify";

const NOTIFY = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/notify.md"), "utf8");
const section = (title: string) =>
    NOTIFY.slice(NOTIFY.indexOf(`## ${title}`), NOTIFY.indexOf("\n## ", NOTIFY.indexOf(`## ${title}`) + 3));

describe("docs/notify.md", () => {
    it("the encoding table is what the protocol encodes and decodes", () => {
        const rows = section("Channel names")
            .split("\n")
            .filter(line => /^\| `[^`]+` +\| `[^`]+` +\| `private-user-/.test(line))
            .map(line => [...line.matchAll(/`([^`]+)`/g)].map(match => match[1]));
        expect(rows.length).toBeGreaterThanOrEqual(5);
        for (const [name, encoded, channel] of rows) {
            expect(encodeUserName(name), name).toBe(encoded);
            expect(decodeUserName(encoded)).toBe(name);
            expect(channelForTopic(userTopic(name))).toBe(channel);
        }
    });

    it("the Call REST bodies for a user and a broadcast, and the mixed batch, are valid notifications", () => {
        const blocks = [...section("Notify one user, or everyone").matchAll(/```json\n([^`]+)```/g)].map(match =>
            JSON.parse(match[1])
        );
        expect(blocks.map(body => Object.keys(body)[0])).toEqual(["user", "broadcast"]);
        for (const body of blocks) {
            expect(notificationSchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
        }
        const batch = /`(\{ "notifications": [^`]+)`/.exec(section("Notify one user, or everyone"));
        for (const item of (JSON.parse(batch![1]) as { notifications: unknown[] }).notifications) {
            expect(notificationSchema.safeParse(item).success).toBe(true);
        }
    });
});
