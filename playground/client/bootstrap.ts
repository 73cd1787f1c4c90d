/**
 * What the playground server tells the page (embedded as JSON in the HTML), shared by both sides.
 */
import type { DemoObject } from "../data.js";

export interface PlaygroundUser {
    name: string;
    fullName: string;
}

export interface PlaygroundBootstrap {
    /** Signed-in user, or null when signed out (no session). */
    user: PlaygroundUser | null;
    /** CSRF token of the session ("" when signed out). */
    csrfToken: string;
    users: PlaygroundUser[];
    objects: DemoObject[];
    /** GUIDs of the objects the signed-in user may read. */
    readable: string[];
    /** GUID of the object the data view shows first. */
    objectGuid: string;
    /** How many Listen widgets the data view holds. */
    widgets: number;
    /** Value of the widget's "Ignore own notifications" property. */
    ignoreOwn: boolean;
    /** Value of the widget's "Delay (ms)" property. */
    delay: number;
    /** How long each action takes, in ms (isExecuting is true meanwhile). */
    slowMs: number;
    /** "default": no Topic property (Module.Entity.guid); "key": Topic = the object's key topic. */
    topicMode: "default" | "key";
    /** Action names in the widget's action list. */
    actions: string[];
    /** URL of the built widget module, or null when it is not built. */
    widgetUrl: string | null;
    /** URL of the built widget's stylesheet, if it has one. */
    widgetCssUrl: string | null;
    /** Why the widget cannot be loaded, shown on the page. */
    widgetProblem: string | null;
    /** Where the widget module comes from (build output or mpk), for the page's "How it works" card. */
    widgetSource: string | null;
    /** Who answers access checks: the fake runtime in this process, or the app at MENDIX_APP_URL. */
    accessCheck: "fake-runtime" | "mendix-app";
    /** The operator console (`/console`, METRICS_TOKEN set), linked from the top bar; absent when it is off. */
    consoleUrl?: string;
}

/** Query parameters the page understands (all optional). */
export const QUERY = {
    user: "user",
    object: "object",
    widgets: "widgets",
    ignoreOwn: "ignoreOwn",
    delay: "delay",
    slowMs: "slowMs",
    topic: "topic",
    /** `1`: the data view's widgets show who else is viewing (read by the page itself). */
    viewers: "viewers",
    /** `1`: the page's layout holds a Listen widget for the user's notifications and one for a broadcast. */
    layout: "layout"
} as const;

/** `?user=` value that signs out. */
export const SIGNED_OUT = "anonymous";
