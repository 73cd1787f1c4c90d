/** Result of a validation: `null` when valid, otherwise a message a Mendix modeller understands. */
export type ValidationError = string | null;

/**
 * The facets of a text rule that JSON Schema (and so the OpenAPI document) can state: a text is valid when it
 * has `minLength` to `maxLength` characters (UTF-16 code units, like `String.length`) and matches every pattern.
 * Each `validate*` function of this module checks exactly its rule's facets, with a message per facet.
 */
export interface TextRule {
    readonly minLength: number;
    readonly maxLength: number;
    readonly patterns: readonly RegExp[];
}

/** True when `text` satisfies every facet of `rule`. */
export function followsRule(rule: TextRule, text: string): boolean {
    return (
        text.length >= rule.minLength &&
        text.length <= rule.maxLength &&
        rule.patterns.every(pattern => pattern.test(text))
    );
}
