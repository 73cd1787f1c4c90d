import { validateAction } from "../../protocol";

export interface ActionProblem {
    /** Position in the action list, from 0. */
    index: number;
    message: string;
}

/** Problems of an action list: empty, invalid or duplicate action names (each duplicate reported once). */
export function actionListProblems(names: readonly string[]): ActionProblem[] {
    const problems: ActionProblem[] = [];
    // A plain object, not a Set: this also runs in Studio Pro's editor engine (check()).
    const seen: Record<string, true> = Object.create(null) as Record<string, true>;
    names.forEach((name, index) => {
        const invalid = validateAction(name);
        if (invalid !== null) {
            problems.push({ index, message: invalid });
        } else if (seen[name] === true) {
            problems.push({
                index,
                message: `The action name "${name}" is used more than once in the action list; each action name may appear only once.`
            });
        } else {
            seen[name] = true;
        }
    });
    return problems;
}

/** One message for the inline error of the running widget, or null when the list is fine. */
export function actionListError(names: readonly string[]): string | null {
    const problems = actionListProblems(names);
    if (problems.length === 0) {
        return null;
    }
    const details = problems.map(problem => `action ${problem.index + 1}: ${problem.message}`).join(" ");
    return `The action list of the Listen widget is not valid (${details}) Fix it in Studio Pro.`;
}
