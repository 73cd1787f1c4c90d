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
        objectSource: { caption: "Order" },
        topic: "",
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

    it("reports a missing object source", () => {
        expect(check(values({ objectSource: null }))).toEqual([
            { property: "objectSource", message: expect.stringMatching(/Select the object to listen to/) }
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

    it("getProperties keeps Studio Pro's properties", () => {
        const defaults = [{ caption: "General", properties: [{ key: "topic", caption: "Topic" }] }];
        expect(getProperties(values(), defaults)).toEqual(defaults);
    });

    it("the editor preview reads 'Listen: <action names>'", () => {
        const { container } = render(preview(values({ actions: [{ actionName: "refresh", action: {} }] })));
        expect(container.textContent).toBe("Listen: refresh");
        expect(getPreviewCss()).toContain(".widget-listen-preview");
    });
});
