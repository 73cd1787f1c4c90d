import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ListenPreviewProps } from "../../typings/ListenProps";
import { check, getCustomCaption, getPreview, getProperties } from "../Listen.editorConfig";
import { getPreviewCss, preview } from "../Listen.editorPreview";

function values(overrides: Partial<ListenPreviewProps> = {}): ListenPreviewProps {
    return {
        className: "",
        class: "",
        style: "",
        readOnly: false,
        renderMode: "design",
        translate: text => text,
        listenTo: "object",
        objectSource: { caption: "Order" },
        topic: "",
        broadcastName: "all",
        showViewers: false,
        viewersCaption: "Also viewing:",
        onViewersChanged: null,
        actions: [{ actionName: "refresh", action: {} }],
        ignoreOwn: false,
        delay: 0,
        onConnectionLost: null,
        onReconnected: null,
        serverUrl: "",
        ...overrides
    };
}

describe("Listen.editorConfig check()", () => {
    it("accepts a complete configuration", () => {
        expect(check(values())).toEqual([]);
    });

    it("reports a missing object source when there is no Topic either", () => {
        expect(check(values({ objectSource: null }))).toEqual([
            {
                property: "objectSource",
                message: expect.stringMatching(/Select the object to listen to.*or set the Topic/)
            }
        ]);
        expect(check(values({ objectSource: null, topic: "'Sales.Order.number.1001'" }))).toEqual([]);
    });

    it("accepts the current user's notifications and a broadcast without an object", () => {
        expect(check(values({ listenTo: "user", objectSource: null }))).toEqual([]);
        expect(check(values({ listenTo: "broadcast", objectSource: null, broadcastName: "maintenance" }))).toEqual([]);
    });

    it("reports an object, a Topic and Show who else is viewing outside object mode", () => {
        for (const listenTo of ["user", "broadcast"] as const) {
            expect(check(values({ listenTo, topic: "'orders'", showViewers: true }))).toEqual([
                {
                    property: "objectSource",
                    message: expect.stringMatching(/needs no object: clear the Object to listen/)
                },
                { property: "topic", message: expect.stringMatching(/has its own topic: clear the Topic/) },
                { property: "showViewers", message: expect.stringMatching(/works only with Listen to: The object/) }
            ]);
        }
    });

    it("reports an empty or invalid Broadcast name", () => {
        const broadcast = { listenTo: "broadcast", objectSource: null } as const;
        expect(check(values({ ...broadcast, broadcastName: " " }))).toEqual([
            { property: "broadcastName", message: "Enter the Broadcast name, for example all or maintenance." }
        ]);
        expect(check(values({ ...broadcast, broadcastName: "new version" }))).toEqual([
            { property: "broadcastName", message: expect.stringMatching(/"new version" contains characters/) }
        ]);
        // Outside broadcast mode the name is not used.
        expect(check(values({ broadcastName: "" }))).toEqual([]);
    });

    it("reports On viewers changed without Show who else is viewing", () => {
        expect(check(values({ onViewersChanged: {} }))).toEqual([
            { property: "onViewersChanged", message: expect.stringMatching(/only with Show who else is viewing/) }
        ]);
        expect(check(values({ onViewersChanged: {}, showViewers: true }))).toEqual([]);
    });

    it("reports a literal Topic with a reserved prefix, and one too long for the viewers' channel", () => {
        expect(check(values({ topic: "'user-mary'" }))).toEqual([
            { property: "topic", message: expect.stringMatching(/"user-mary" starts with "user-", which is reserved/) }
        ]);
        const topic = `'${"a".repeat(156)}'`;
        expect(check(values({ topic }))).toEqual([]);
        expect(check(values({ topic, showViewers: true }))).toEqual([
            { property: "topic", message: expect.stringMatching(/at most 155 characters/) }
        ]);
    });

    it("reports an empty action list", () => {
        expect(check(values({ actions: [] }))).toEqual([
            { property: "actions", message: expect.stringMatching(/Add at least one action/) }
        ]);
    });

    it("reports empty, reserved, over-long and duplicate action names on the action's own property", () => {
        const problems = check(
            values({
                actions: [
                    { actionName: "refresh", action: {} },
                    { actionName: "", action: {} },
                    { actionName: "pusher:subscribe", action: null },
                    { actionName: "client-x", action: null },
                    { actionName: "x".repeat(201), action: null },
                    { actionName: "refresh", action: null }
                ]
            })
        );
        expect(problems).toEqual([
            { property: "actions/2/actionName", message: "The action name is empty." },
            { property: "actions/3/actionName", message: expect.stringMatching(/starts with "pusher:", a reserved/) },
            { property: "actions/4/actionName", message: expect.stringMatching(/starts with "client-", a reserved/) },
            { property: "actions/5/actionName", message: expect.stringMatching(/201 characters long; at most 200/) },
            { property: "actions/6/actionName", message: expect.stringMatching(/"refresh" is used more than once/) }
        ]);
    });

    it("accepts the action names Pusher and the old modules accept: spaces, any character", () => {
        const names = [
            "Refresh order",
            "Auftrag geändert",
            'order/42 "shipped"',
            "pusherUpdate",
            "client_x",
            "x".repeat(200)
        ];
        expect(check(values({ actions: names.map(actionName => ({ actionName, action: {} })) }))).toEqual([]);
    });

    it("warns (does not refuse) an action name that starts or ends with a space", () => {
        expect(check(values({ actions: [{ actionName: "refresh ", action: {} }] }))).toEqual([
            {
                property: "actions/1/actionName",
                severity: "warning",
                message: expect.stringMatching(/"refresh " starts or ends with a space/)
            }
        ]);
    });

    it("checks a literal Topic, a negative delay and a Server URL that is not http(s)", () => {
        expect(check(values({ topic: "'orders/42'", delay: -5, serverUrl: "notify.example.com" }))).toEqual([
            { property: "topic", message: expect.stringMatching(/"orders\/42" contains characters/) },
            { property: "delay", message: expect.stringMatching(/cannot be negative/) },
            { property: "serverUrl", message: expect.stringMatching(/must start with https:\/\/ or http:\/\//) }
        ]);
        expect(
            check(values({ topic: "'Sales.Order.' + $currentObject/Number", serverUrl: "https://n.example.com" }))
        ).toEqual([]);
    });
});

describe("Listen previews", () => {
    it("getPreview shows the configured action names", () => {
        const structure = getPreview(
            values({
                actions: [
                    { actionName: "refresh", action: {} },
                    { actionName: "reload", action: null }
                ]
            }),
            false
        );
        expect(structure).toMatchObject({
            type: "Container",
            children: [{ type: "Text", content: "Listen: refresh, reload" }]
        });
        expect(getCustomCaption(values())).toBe("Listen: refresh");
    });

    it("getProperties hides the Broadcast name outside broadcast mode and the Viewers caption without viewers", () => {
        const defaults = () => [
            {
                caption: "General",
                propertyGroups: [
                    {
                        caption: "Listen to",
                        properties: [
                            { key: "topic", caption: "Topic" },
                            { key: "broadcastName", caption: "Broadcast name" }
                        ]
                    },
                    { caption: "Viewers", properties: [{ key: "viewersCaption", caption: "Viewers caption" }] }
                ]
            }
        ];
        const keys = (properties: ReturnType<typeof defaults>): string[] =>
            properties.flatMap(tab => tab.propertyGroups.flatMap(group => group.properties.map(p => p.key)));
        expect(keys(getProperties(values(), defaults()) as ReturnType<typeof defaults>)).toEqual(["topic"]);
        expect(
            keys(
                getProperties(values({ listenTo: "broadcast", showViewers: true }), defaults()) as ReturnType<
                    typeof defaults
                >
            )
        ).toEqual(["topic", "broadcastName", "viewersCaption"]);
    });

    it("captions name the mode when it is not the object", () => {
        expect(getCustomCaption(values({ listenTo: "user" }))).toBe("Listen (user): refresh");
        expect(getCustomCaption(values({ listenTo: "broadcast", broadcastName: "maintenance" }))).toBe(
            "Listen (broadcast maintenance): refresh"
        );
        const { container } = render(preview(values({ showViewers: true })));
        expect(container.textContent).toBe("Listen: refreshAlso viewing: …");
    });

    it("the editor preview reads 'Listen: <action names>'", () => {
        const { container } = render(preview(values({ actions: [{ actionName: "refresh", action: {} }] })));
        expect(container.textContent).toBe("Listen: refresh");
        expect(getPreviewCss()).toContain(".widget-listen-preview");
    });
});
