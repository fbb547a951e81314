// One step of a multi-step QuickPick flow ("Step 2 of 3", a Back button from the second step on), after
// vscode-extension-samples' quickinput-sample. Each step resolves to its answer, BACK, or undefined (Escape).
import * as vscode from 'vscode';

export const BACK = Symbol('back');
export type StepAnswer<T> = T | typeof BACK | undefined;

interface StepPosition {
  title: string;
  step: number;
  totalSteps: number;
  placeholder?: string;
}

/**
 * A pick of one item, or of several when `canPickMany`. `selected` (items of `items`) are ticked at the start,
 * or, for a single pick, the first is highlighted: the answer given before Back.
 */
export function pickStep<T extends vscode.QuickPickItem>(
  at: StepPosition & { items: T[]; canPickMany?: boolean; selected?: T[] },
): Promise<StepAnswer<readonly T[]>> {
  const pick = vscode.window.createQuickPick<T>();
  Object.assign(pick, position(at), { canSelectMany: at.canPickMany ?? false, matchOnDetail: true, items: at.items });
  const selected = (at.selected ?? []).filter((s) => at.items.includes(s));
  if (at.canPickMany) pick.selectedItems = selected;
  else if (selected.length) pick.activeItems = selected.slice(0, 1);
  return run(pick, () => {
    const chosen = at.canPickMany ? pick.selectedItems : pick.activeItems.slice(0, 1);
    return chosen.length ? chosen : undefined;
  });
}

/** A line of text; Enter is refused while `validate` returns a problem. */
export function inputStep(at: StepPosition & { value: string; validate: (v: string) => string | undefined }): Promise<StepAnswer<string>> {
  const input = vscode.window.createInputBox();
  Object.assign(input, position(at), { value: at.value });
  const check = () => {
    input.validationMessage = at.validate(input.value);
  };
  input.onDidChangeValue(check);
  check();
  return run(input, () => (at.validate(input.value) === undefined ? input.value : undefined));
}

function position(at: StepPosition): Partial<vscode.QuickInput & { placeholder: string; buttons: vscode.QuickInputButton[] }> {
  return {
    title: at.title, step: at.step, totalSteps: at.totalSteps, ignoreFocusOut: true, placeholder: at.placeholder,
    buttons: at.step > 1 ? [vscode.QuickInputButtons.Back] : [],
  };
}

/** Shows `input` until Enter gives an answer (`accept` returns undefined to stay), Back, or it is hidden. */
function run<R>(input: vscode.QuickInput & { onDidAccept: vscode.Event<void>; onDidTriggerButton: vscode.Event<vscode.QuickInputButton> }, accept: () => R | undefined): Promise<StepAnswer<R>> {
  return new Promise<StepAnswer<R>>((resolve) => {
    let settled = false;
    const finish = (answer: StepAnswer<R>) => {
      if (settled) return;
      settled = true;
      resolve(answer);
      input.dispose();
    };
    input.onDidAccept(() => {
      const answer = accept();
      if (answer !== undefined) finish(answer);
    });
    input.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish(BACK);
    });
    input.onDidHide(() => finish(undefined));
    input.show();
  });
}
