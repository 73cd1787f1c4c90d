import type { PresenceUserInfo } from "../../protocol";

/** Another user viewing the same object: `user` is the Mendix user name, `name` what the others see. */
export interface Viewer {
    user: string;
    name: string;
}

/**
 * The members of a presence channel as pusher-js keeps them: `user_id` -> `user_info`. pusher-js keeps one entry
 * per `user_id`, so a user with the object open in two tabs is one member.
 */
export type PresenceMembers = Readonly<Record<string, unknown>>;

/** The name a member shows: `user_info.name` as the server signs it, else the user name. */
function memberName(user: string, info: unknown): string {
    const name = (info as Partial<PresenceUserInfo> | null | undefined)?.name;
    return typeof name === "string" && name !== "" ? name : user;
}

/** The other viewers: every member but the current user, sorted by name. */
export function otherViewers(members: PresenceMembers, currentUser: string | undefined): Viewer[] {
    return Object.keys(members)
        .filter(user => user !== currentUser)
        .map(user => ({ user, name: memberName(user, members[user]) }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.user.localeCompare(b.user));
}

/** The names for the action variable Names: "Mary Jones, Peter Smith"; empty when nobody else views it. */
export function viewerNames(viewers: readonly Viewer[]): string {
    return viewers.map(viewer => viewer.name).join(", ");
}

/** Whether two lists of viewers are the same set of users with the same names. */
export function sameViewers(a: readonly Viewer[], b: readonly Viewer[]): boolean {
    return (
        a.length === b.length &&
        a.every((viewer, index) => viewer.user === b[index].user && viewer.name === b[index].name)
    );
}
