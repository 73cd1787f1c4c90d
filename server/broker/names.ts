/**
 * Channel-name problems in the broker's own words: what is wrong, never the name itself (the broker's errors
 * are `text/plain` and WebSocket frames that must not carry raw client input back).
 */
import { CHANNEL_NAME_PATTERN, MAX_CHANNEL_NAME_LENGTH } from "../../protocol/index.js";

/** Why `channel` is not a valid Pusher channel name, or null. `what` names it ("The channel name", "channels[3]"). */
export function channelNameProblem(channel: string, what = "The channel name"): string | null {
    if (channel.length === 0) {
        return `${what} is empty`;
    }
    if (channel.length > MAX_CHANNEL_NAME_LENGTH) {
        return `${what} is ${channel.length} characters long; at most ${MAX_CHANNEL_NAME_LENGTH} are allowed`;
    }
    if (!CHANNEL_NAME_PATTERN.test(channel)) {
        return `${what} contains characters that are not allowed; use only letters, digits and _ - = @ , . ;`;
    }
    return null;
}
