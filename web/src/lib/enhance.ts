/**
 * The one way pages enhance their forms (`use:enhance={enhanceForm()}`): kit's default behaviour,
 * plus what a form needs to be usable without looking at the whole page. The forms work without
 * JavaScript too; these are the extras when it runs.
 */
import type { SubmitFunction } from '$app/forms';
import { tick } from 'svelte';

export interface EnhanceOptions {
  /** Clear the fields after a success: right for forms that create something, wrong for edit forms. */
  reset?: boolean;
  /**
   * A question to confirm first, for what cannot be undone (without JavaScript the form just
   * submits). A submit button's own `data-confirm` takes precedence, for forms with several buttons.
   */
  confirm?: string;
}

export function enhanceForm({ reset = false, confirm }: EnhanceOptions = {}): SubmitFunction {
  return ({ formElement, submitter, cancel }) => {
    const question = submitter?.dataset.confirm ?? confirm;
    if (question && !window.confirm(question)) return cancel();
    // Styles dim the buttons while it is set, so a second click is visibly pointless.
    formElement.setAttribute('aria-busy', 'true');
    return async ({ update, result }) => {
      try {
        await update({ reset });
      } finally {
        formElement.removeAttribute('aria-busy');
      }
      if (result.type === 'failure') {
        await tick();
        focusFirstProblem(formElement);
      }
    };
  };
}

/**
 * Moves focus to the first field marked invalid, or to the form's message when no field is: a
 * keyboard or screen reader user lands on what to fix instead of staying on the submit button.
 */
function focusFirstProblem(form: HTMLFormElement): void {
  if (!form.isConnected) return;
  const target = form.querySelector<HTMLElement>('[aria-invalid="true"]') ?? form.querySelector<HTMLElement>('[data-form-message]');
  target?.focus();
}
