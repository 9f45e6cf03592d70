/**
 * What form actions hand back to their pages, and how an edge API refusal (an RFC 9457 problem
 * document) becomes messages next to the fields it names. Pages that repeat a form per product or
 * per show tell the forms apart by `form` and `subject`.
 */
import { fail, redirect, type ActionFailure } from '@sveltejs/kit';
import { Problem } from '@mytaek1/contracts';

/** Which form on a page a result is about. */
export interface FormRef {
  /** The action's name, e.g. `createProduct`. */
  form: string;
  /** The product or show the form acted on, when the page repeats the form for each one. */
  subject?: string;
}

/** A refused submission: enough for the page to show the form again as it was, with what to fix. */
export interface FormFailure extends FormRef {
  /** About the submission as a whole (a conflict, a rate limit), shown above the form. */
  message?: string;
  /** Form field name → what is wrong with it. */
  fieldErrors: Record<string, string>;
  /** What was typed, to put back into the fields (never a password). */
  values: Record<string, string>;
}

/** An accepted submission, confirmed in words beside the form. */
export interface FormSuccess extends FormRef {
  notice: string;
}

/** The fields of a FormFailure or FormSuccess for `ref`, or nothing when `result` is about another form. */
export function feedbackFor(result: unknown, ref: FormRef): Partial<FormFailure & FormSuccess> {
  if (typeof result !== 'object' || result === null || !('form' in result)) return {};
  const about = result as FormRef;
  return about.form === ref.form && about.subject === ref.subject ? (result as Partial<FormFailure & FormSuccess>) : {};
}

/** The first of `fieldOrder` that has an error: the field to focus when the page loads without JavaScript. */
export function firstInvalidField(fieldErrors: Record<string, string> | undefined, fieldOrder: readonly string[]): string | undefined {
  return fieldErrors ? fieldOrder.find((name) => fieldErrors[name]) : undefined;
}

/** A text field of a submitted form; '' when it is missing (or is a file). */
export function formText(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value : '';
}

/** The text fields `names` of a submitted form, to echo back on failure. */
export function formValues(data: FormData, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, formText(data, name)]));
}

export function refuse(status: number, failure: FormFailure): ActionFailure<FormFailure> {
  return fail(status, failure);
}

/** The parts of a typed client response this module reads; Hono's ClientResponse and fetch's Response both fit. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  json(): Promise<unknown>;
}

/** How to word an API refusal for one form. */
export interface RefusalContext extends FormRef {
  values: Record<string, string>;
  /**
   * API field path → the form field that shows its errors. A key also covers the paths under it,
   * so `price` catches `price.amount` and `price.currency`; the longest matching key wins.
   */
  fields?: Record<string, string>;
  /** Wording for particular statuses, for the whole form or for one field (a taken email, say). */
  byStatus?: Partial<Record<number, string | { field: string; message: string }>>;
  /** Where to send the visitor when the API answers 401: a session that ended mid-way is not a form error. */
  signInAt?: string;
}

/** What a submission that never reached the edge API tells the visitor. */
export const UNREACHABLE_MESSAGE = 'The service could not be reached, so nothing was saved. Please try again in a moment.';

/**
 * Calls the edge API for a form action. Resolves to the response when it has the `expected`
 * status (typed as that answer), or to the action failure that explains anything else: field
 * errors from the problem document, a conflict, a rate limit, an unreachable API.
 */
export async function submitToApi<R extends ApiResponse, S extends R['status']>(
  call: () => Promise<R>,
  expected: S,
  context: RefusalContext,
): Promise<{ ok: true; response: Extract<R, { status: S }> } | { ok: false; failure: ActionFailure<FormFailure> }> {
  let response: R;
  try {
    response = await call();
  } catch (cause) {
    console.error(`web: the edge API is unreachable (${context.form}):`, cause);
    return { ok: false, failure: refuse(503, { ...refOf(context), values: context.values, fieldErrors: {}, message: UNREACHABLE_MESSAGE }) };
  }
  if (response.status === expected) return { ok: true, response: response as Extract<R, { status: S }> };
  if (response.status === 401 && context.signInAt) redirect(303, context.signInAt);
  return { ok: false, failure: refuse(refusalStatus(response.status), await describeRefusal(response, context)) };
}

/** A FormFailure that says what the edge API refused and why. */
export async function describeRefusal(response: ApiResponse, context: RefusalContext): Promise<FormFailure> {
  const problem = await problemOf(response);
  const failure: FormFailure = { ...refOf(context), values: context.values, fieldErrors: {} };
  const override = context.byStatus?.[response.status];
  if (typeof override === 'string') return { ...failure, message: override };
  if (override) return { ...failure, fieldErrors: { [override.field]: override.message } };

  const placed = placeFieldErrors(problem?.errors ?? [], context.fields ?? {});
  if (placed.unplaced) return { ...failure, fieldErrors: placed.fieldErrors, message: placed.unplaced };
  if (Object.keys(placed.fieldErrors).length) return { ...failure, fieldErrors: placed.fieldErrors };
  return { ...failure, message: messageFor(response, problem) };
}

/** A validation failure as the edge API reports it (and as zod issues become, with the path joined by dots). */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Field errors by form field, plus a sentence for the problems no field of the form shows (those
 * must not vanish). A field keeps its first error: one thing to fix at a time reads better than a list.
 */
export function placeFieldErrors(problems: readonly FieldProblem[], fields: Record<string, string>): { fieldErrors: Record<string, string>; unplaced?: string } {
  const fieldErrors: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const { path, message } of problems) {
    const field = fieldForPath(path, fields);
    if (!field) unplaced.push(path === '(body)' || path === '' ? sentence(message) : `${path}: ${sentence(message)}`);
    else fieldErrors[field] ??= message;
  }
  return unplaced.length ? { fieldErrors, unplaced: unplaced.join(' ') } : { fieldErrors };
}

/** Zod issues (from checking a request against its contract before sending it) as FieldProblems. */
export function issuesAsProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldProblem[] {
  return issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function refOf({ form, subject }: FormRef): FormRef {
  return subject === undefined ? { form } : { form, subject };
}

/** The status the page is served with: the API's own for refusals, 502 for its failures. */
function refusalStatus(status: number): number {
  return status >= 400 && status < 500 ? status : 502;
}

async function problemOf(response: ApiResponse): Promise<Problem | null> {
  try {
    const parsed = Problem.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    // Not JSON at all: a proxy's error page, an empty body.
    return null;
  }
}

function fieldForPath(path: string, fields: Record<string, string>): string | undefined {
  let best: string | undefined;
  for (const key of Object.keys(fields)) {
    if ((path === key || path.startsWith(`${key}.`)) && (!best || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : fields[best];
}

/** The form-level message for a refusal that names no field. */
function messageFor(response: ApiResponse, problem: Problem | null): string {
  if (response.status === 429) return `Too many attempts. ${retryAfterWording(response.headers.get('retry-after'))}`;
  if (response.status >= 500 || !problem) return `Something went wrong on our side (error ${response.status}). Please try again in a moment.`;
  return sentence(problem.detail ?? problem.title);
}

/** Retry-After in seconds (RFC 9110 also allows a date, which the edge API does not send) → words. */
function retryAfterWording(header: string | null): string {
  const seconds = Number(header);
  if (!header || !Number.isFinite(seconds) || seconds <= 0) return 'Please wait a minute, then try again.';
  if (seconds < 90) return `Try again in ${Math.ceil(seconds)} second${Math.ceil(seconds) === 1 ? '' : 's'}.`;
  return `Try again in ${Math.ceil(seconds / 60)} minutes.`;
}

/** The API's lower-case details ("the show has ended") as a sentence for a person. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
