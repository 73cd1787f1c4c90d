import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    BROADCAST_NAME_RULE,
    CHANNEL_NAME_PATTERN,
    MAX_CHANNEL_NAME_LENGTH,
    MAX_ENCODED_USER_NAME_LENGTH,
    RESERVED_TOPIC_FORM_PATTERN,
    broadcastTopic,
    channelForTopic,
    decodeUserName,
    describeChannel,
    encodeUserName,
    followsRule,
    isEncodableUserName,
    presenceChannelForTopic,
    userTopic,
    validateBroadcastName,
    validateSignableChannel,
    validateTopic,
    validateUserName
} from "../index.js";

/** Any well-formed text: code points of every plane, ASCII punctuation, e-mail addresses. */
const userNameLike = fc.oneof(
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
    fc.stringMatching(/^[ -~]{1,40}$/),
    fc.emailAddress()
);

describe("encodeUserName / decodeUserName", () => {
    it("encodes the documented examples", () => {
        expect(encodeUserName("mary")).toBe("mary");
        expect(encodeUserName("Mary Jones")).toBe("Mary=20Jones");
        expect(encodeUserName("józef")).toBe("j=C3=B3zef");
        expect(encodeUserName("a=b")).toBe("a=3Db");
        expect(encodeUserName("john.smith@example.com")).toBe("john.smith@example.com");
        expect(encodeUserName("ann+test@example.com")).toBe("ann=2Btest@example.com");
        expect(encodeUserName("a,b;c")).toBe("a=2Cb=3Bc");
        expect(encodeUserName("李")).toBe("=E6=9D=8E");
        expect(encodeUserName("😀")).toBe("=F0=9F=98=80");
        expect(encodeUserName("50%")).toBe("50=25");
        expect(encodeUserName("o'neil (x)!")).toBe("o=27neil=20=28x=29=21");
    });

    it("gives a valid channel-name text that decodes to the same name, for any name", () => {
        fc.assert(
            fc.property(userNameLike, name => {
                const encoded = encodeUserName(name);
                expect(encoded).toMatch(CHANNEL_NAME_PATTERN);
                expect(decodeUserName(encoded)).toBe(name);
            }),
            { numRuns: 2_000 }
        );
    });

    it("gives different names different encodings", () => {
        fc.assert(
            fc.property(userNameLike, userNameLike, (a, b) => {
                fc.pre(a !== b);
                expect(encodeUserName(a)).not.toBe(encodeUserName(b));
            }),
            { numRuns: 1_000 }
        );
    });

    it("refuses every text that is not the one encoding of a name", () => {
        for (const encoded of [
            "", // empty
            "=61", // "a", a kept byte, written encoded
            "=c3=b3", // lower-case hex
            "=C3", // a cut UTF-8 sequence
            "=FF", // not UTF-8
            "=ED=A0=80", // an encoded surrogate
            "a=", // = without digits
            "a=2", // one digit
            "a=GG",
            "a b", // outside the channel alphabet
            "a,b", // `,` is a channel character, but not a kept one
            "a%20b",
            "=3d"
        ]) {
            expect(decodeUserName(encoded), encoded).toBeNull();
        }
    });

    it("decodes random texts only when they are canonical", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^(?:[A-Za-z0-9=.@,]|=[0-9A-Fa-f]{2}){1,12}$/), text => {
                const name = decodeUserName(text);
                if (name !== null) {
                    expect(encodeUserName(name)).toBe(text);
                }
            }),
            { numRuns: 2_000 }
        );
    });

    it("throws on an unpaired surrogate, which validateUserName reports first", () => {
        expect(isEncodableUserName("a\uD800b")).toBe(false);
        expect(isEncodableUserName("a\uDC00")).toBe(false);
        expect(isEncodableUserName("😀")).toBe(true);
        expect(() => encodeUserName("a\uD800b")).toThrow(RangeError);
        expect(validateUserName("a\uD800b")).toMatch(/unpaired surrogate/);
    });
});

describe("validateUserName", () => {
    it("accepts any name whose channel fits 164 characters", () => {
        expect(validateUserName("mary")).toBeNull();
        expect(validateUserName("Mary Jones")).toBeNull();
        const longest = "x".repeat(MAX_ENCODED_USER_NAME_LENGTH);
        expect(validateUserName(longest)).toBeNull();
        expect(channelForTopic(userTopic(longest))).toHaveLength(MAX_CHANNEL_NAME_LENGTH);
    });

    it("names the problem: empty, or a channel over the limit", () => {
        expect(validateUserName("")).toBe("The user name is empty.");
        expect(validateUserName("x".repeat(MAX_ENCODED_USER_NAME_LENGTH + 1))).toMatch(
            /of 165 characters; Pusher allows at most 164.*at most 151 fit/
        );
        expect(validateUserName("ó".repeat(26))).toMatch(/of 169 characters/);
    });

    it("is valid exactly when the user channel is signable, of kind user, naming the user", () => {
        fc.assert(
            fc.property(fc.oneof(userNameLike, fc.string({ maxLength: 160 })), name => {
                const valid = validateUserName(name) === null;
                if (valid) {
                    expect(describeChannel(channelForTopic(userTopic(name)))).toEqual({
                        kind: "user",
                        topic: userTopic(name),
                        user: name
                    });
                } else if (isEncodableUserName(name) && name !== "") {
                    expect(describeChannel(channelForTopic(userTopic(name)))).toBeNull();
                }
            }),
            { numRuns: 1_000 }
        );
    });
});

describe("describeChannel and validateSignableChannel", () => {
    it("tell the four kinds apart", () => {
        expect(describeChannel("private-Sales.Order.1")).toEqual({ kind: "object", topic: "Sales.Order.1" });
        expect(describeChannel("presence-Sales.Order.1")).toEqual({ kind: "presence", topic: "Sales.Order.1" });
        expect(describeChannel("private-user-Mary=20Jones")).toEqual({
            kind: "user",
            topic: "user-Mary=20Jones",
            user: "Mary Jones"
        });
        expect(describeChannel("private-broadcast-maintenance")).toEqual({
            kind: "broadcast",
            topic: "broadcast-maintenance",
            broadcast: "maintenance"
        });
        expect(validateSignableChannel("private-broadcast-all")).toBeNull();
    });

    it("name the problem of channels this server does not sign", () => {
        const refused: Record<string, RegExp> = {
            "Sales.Order.1": /neither a private channel .* nor a presence channel/,
            "public-x": /neither a private channel/,
            "private-user-=61nn": /does not hold an encoded user name/,
            "private-user-": /does not hold an encoded user name/,
            "private-user-j=c3=b3zef": /does not hold an encoded user name/,
            "private-user-a,b": /does not hold an encoded user name/,
            "private-broadcast-": /names no broadcast/,
            "presence-user-mary": /presence channels exist only for object topics/,
            "presence-broadcast-all": /presence channels exist only for object topics/,
            "presence-encrypted-x": /end-to-end encrypted/,
            "private-encrypted-x": /end-to-end encrypted/,
            "presence-": /The topic is empty/,
            "private-a b": /characters that are not allowed/,
            ["private-" + "a".repeat(MAX_CHANNEL_NAME_LENGTH)]: /at most 164/
        };
        for (const [channel, problem] of Object.entries(refused)) {
            expect(describeChannel(channel), channel).toBeNull();
            expect(validateSignableChannel(channel), channel).toMatch(problem);
        }
    });

    it("describe exactly the channels they do not refuse, as prefix + topic", () => {
        fc.assert(
            fc.property(
                fc
                    .tuple(
                        fc.constantFrom("private-", "presence-", "private-user-", "private-broadcast-", ""),
                        fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{0,160}$/)
                    )
                    .map(([prefix, rest]) => prefix + rest),
                channel => {
                    const description = describeChannel(channel);
                    expect(description === null).toBe(validateSignableChannel(channel) !== null);
                    if (description !== null) {
                        const prefix = description.kind === "presence" ? "presence-" : "private-";
                        expect(prefix + description.topic).toBe(channel);
                        expect(validateTopic(description.topic)).toBeNull();
                    }
                }
            ),
            { numRuns: 2_000 }
        );
    });

    it("give back the builders' channels", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{1,160}$/), name => {
                if (validateBroadcastName(name) === null) {
                    expect(describeChannel(channelForTopic(broadcastTopic(name)))).toEqual({
                        kind: "broadcast",
                        topic: broadcastTopic(name),
                        broadcast: name
                    });
                }
                const presence = describeChannel(presenceChannelForTopic(name));
                if (presence !== null) {
                    expect(presence).toEqual({ kind: "presence", topic: name });
                }
            }),
            { numRuns: 1_000 }
        );
    });
});

describe("RESERVED_TOPIC_FORM_PATTERN", () => {
    it("matches every topic of a signable private channel, and refuses malformed reserved ones", () => {
        fc.assert(
            fc.property(
                fc
                    .tuple(
                        fc.constantFrom("user-", "broadcast-", ""),
                        fc.stringMatching(/^(?:[A-Za-z0-9_\-=@,.;]|=[0-9A-Fa-f]{2}){0,40}$/)
                    )
                    .map(([prefix, rest]) => prefix + rest),
                topic => {
                    if (validateSignableChannel(channelForTopic(topic)) === null) {
                        expect(topic).toMatch(RESERVED_TOPIC_FORM_PATTERN);
                    }
                }
            ),
            { numRuns: 2_000 }
        );
        for (const topic of ["user-", "user-a b", "user-=c3", "user-a,b", "broadcast-"]) {
            expect(topic).not.toMatch(RESERVED_TOPIC_FORM_PATTERN);
        }
        expect("Sales.Order.1").toMatch(RESERVED_TOPIC_FORM_PATTERN);
    });
});

describe("broadcast name rule", () => {
    it("validateBroadcastName is exactly BROADCAST_NAME_RULE", () => {
        fc.assert(
            fc.property(
                fc.oneof(fc.string({ maxLength: 150 }), fc.stringMatching(/^[A-Za-z0-9_.=-]{0,150}$/)),
                name => {
                    expect(validateBroadcastName(name) === null).toBe(followsRule(BROADCAST_NAME_RULE, name));
                }
            ),
            { numRuns: 1_000 }
        );
    });

    it("names the problem", () => {
        expect(validateBroadcastName("")).toBe("The broadcast name is empty.");
        expect(validateBroadcastName("a b")).toMatch(/characters that are not allowed/);
        expect(validateBroadcastName("a".repeat(147))).toMatch(/at most 146/);
    });
});
