/** Result of a validation: `null` when valid, otherwise a message a Mendix modeller understands. */
export type ValidationError = string | null;
