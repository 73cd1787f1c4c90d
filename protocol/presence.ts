/**
 * Presence members (`presence-<topic>` channels): who else is viewing a topic. The member's identity comes from the
 * Mendix access check's answer, never from the browser: the companion server builds the `channel_data` it signs,
 * and the widget reads `user_id` (one entry per user) and `user_info.name` (what it shows). No DOM, no Node.
 */

/** Longest `displayName` the access check may answer (a longer one makes the check unavailable). */
export const MAX_DISPLAY_NAME_LENGTH = 200;
/** Pusher's limit on a presence member's `user_id`: a longer Mendix user name cannot join presence channels. */
export const MAX_PRESENCE_USER_ID_LENGTH = 128;

/** A presence member's `user_info`: the name shown to other viewers (the access check's `displayName`, else the user name). */
export interface PresenceUserInfo {
    name: string;
}

/** What the server signs for a presence subscription: `user_id` is the Mendix user name. */
export interface PresenceChannelData {
    user_id: string;
    user_info: PresenceUserInfo;
}

/** A member as the server signs it: `user_id` the Mendix user name, `user_info.name` the display name, else the user name. */
export function presenceMember(user: string, displayName?: string): PresenceChannelData {
    return { user_id: user, user_info: { name: displayName ?? user } };
}

/** The `channel_data` of a member, as the server signs it (JSON text). */
export function presenceChannelData(user: string, displayName?: string): string {
    return JSON.stringify(presenceMember(user, displayName));
}

/** A `displayName` the access check may answer: null when valid. */
export function validateDisplayName(displayName: string): string | null {
    return displayName.length > MAX_DISPLAY_NAME_LENGTH
        ? `The display name is ${displayName.length} characters long; at most ${MAX_DISPLAY_NAME_LENGTH} are allowed.`
        : null;
}
