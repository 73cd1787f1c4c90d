/**
 * The encoding of a Mendix user name into a Pusher channel name (docs/notify.md, "Channel names"). Pusher allows
 * only letters, digits and `_ - = @ , . ;` in channel names; a Mendix user name may hold any character. So, byte by
 * byte of the name's UTF-8 form:
 *
 * - the bytes of `A-Z a-z 0-9 _ - . @` stay as they are;
 * - every other byte is written `=XX` (two upper-case hexadecimal digits), so `=` itself is `=3D`, a space `=20`.
 *
 * `mary` -> `mary`, `Mary Jones` -> `Mary=20Jones`, `józef` -> `j=C3=B3zef`, `a=b` -> `a=3Db`. Decoding is the exact
 * inverse and refuses everything else (lower-case hex, `=` without two hex digits, a kept byte written encoded such
 * as `=61`, bytes that are not UTF-8): exactly one channel per user name. No DOM, no Node.
 */

/** A character a user name keeps as it is in its encoding. */
export const USER_NAME_KEPT_PATTERN = /^[A-Za-z0-9_\-.@]$/;
/** What an encoded user name looks like (`decodeUserName` still checks it is the one encoding of a name). */
export const ENCODED_USER_NAME_PATTERN = /^(?:[A-Za-z0-9_\-.@]|=[0-9A-F]{2})+$/;

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `name` has a UTF-8 form (holds no unpaired surrogate), so it can be encoded. */
export function isEncodableUserName(name: string): boolean {
    return !UNPAIRED_SURROGATE.test(name);
}

/**
 * The channel-name form of a user name. Throws a RangeError when the name holds an unpaired surrogate (it has no
 * UTF-8 form); `validateUserName` reports that first.
 */
export function encodeUserName(name: string): string {
    let encoded = "";
    for (const character of name) {
        const code = character.charCodeAt(0);
        if (USER_NAME_KEPT_PATTERN.test(character)) {
            encoded += character;
        } else if (code < 0x80) {
            encoded += "=" + code.toString(16).toUpperCase().padStart(2, "0");
        } else {
            let utf8: string;
            try {
                // encodeURIComponent writes every UTF-8 byte of a non-ASCII character as %XX (upper case).
                utf8 = encodeURIComponent(character);
            } catch {
                throw new RangeError("The user name contains an unpaired surrogate, which has no UTF-8 form.");
            }
            encoded += utf8.replaceAll("%", "=");
        }
    }
    return encoded;
}

/** The user name of an encoded one, or null when `encoded` is not the one encoding of a user name. */
export function decodeUserName(encoded: string): string | null {
    if (!ENCODED_USER_NAME_PATTERN.test(encoded)) {
        return null;
    }
    let name: string;
    try {
        // Kept characters contain no `%`, so after `=` -> `%` only the byte escapes are decoded.
        name = decodeURIComponent(encoded.replaceAll("=", "%"));
    } catch {
        return null; // the bytes are not UTF-8
    }
    return encodeUserName(name) === encoded ? name : null;
}
