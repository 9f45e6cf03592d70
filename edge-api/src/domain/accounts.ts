import { DomainError } from './errors.ts';

export type Role = 'shopper' | 'seller' | 'admin';

export interface UserRecord {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
}

export interface SessionRecord {
  /** The SHA-256 of the session token; the token itself is only ever held by the client. */
  id: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export interface UserStore {
  get(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Inserts the user; false when the email is taken. */
  insert(user: UserRecord): Promise<boolean>;
}

export interface SessionStore {
  insert(session: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  delete(id: string): Promise<void>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

export interface SessionTokens {
  /** A new unguessable token and the id it is stored under. */
  issue(): Promise<{ token: string; id: string }>;
  idOf(token: string): Promise<string>;
}

export interface AccountDeps {
  users: UserStore;
  sessions: SessionStore;
  passwords: PasswordHasher;
  tokens: SessionTokens;
  now: () => number;
  newId: () => string;
}

export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export interface SignedIn {
  user: UserRecord;
  token: string;
  expiresAt: number;
}

/** Sign-up, log-in, log-out and session look-up; knows nothing of HTTP, cookies or SQL. */
export class Accounts {
  readonly #deps: AccountDeps;

  constructor(deps: AccountDeps) {
    this.#deps = deps;
  }

  async signUp(input: { email: string; password: string; displayName: string; role: 'shopper' | 'seller' }): Promise<SignedIn> {
    const { users, passwords, now, newId } = this.#deps;
    const user: UserRecord = {
      id: newId(),
      email: input.email,
      displayName: input.displayName,
      role: input.role,
      passwordHash: await passwords.hash(input.password),
      createdAt: now(),
    };
    if (!(await users.insert(user))) throw new DomainError('conflict', 'an account with that email exists already');
    return this.#startSession(user);
  }

  async logIn(email: string, password: string): Promise<SignedIn> {
    const user = await this.#deps.users.findByEmail(email);
    // Verify against a hash even for an unknown email, so timing does not reveal which emails exist.
    const valid = await this.#deps.passwords.verify(password, user?.passwordHash ?? UNKNOWN_USER_HASH);
    if (!user || !valid) throw new DomainError('unauthenticated', 'wrong email or password');
    return this.#startSession(user);
  }

  async logOut(token: string): Promise<void> {
    await this.#deps.sessions.delete(await this.#deps.tokens.idOf(token));
  }

  /** The user a session token belongs to, or null when it is unknown or expired. */
  async authenticate(token: string): Promise<UserRecord | null> {
    const { sessions, tokens, users, now } = this.#deps;
    const session = await sessions.get(await tokens.idOf(token));
    if (!session || session.expiresAt <= now()) return null;
    return users.get(session.userId);
  }

  async #startSession(user: UserRecord): Promise<SignedIn> {
    const { token, id } = await this.#deps.tokens.issue();
    const createdAt = this.#deps.now();
    const expiresAt = createdAt + SESSION_TTL_MS;
    await this.#deps.sessions.insert({ id, userId: user.id, createdAt, expiresAt });
    return { user, token, expiresAt };
  }
}

/** A well-formed hash of a random password nobody knows: 100,000 iterations like a real one. */
const UNKNOWN_USER_HASH = 'pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
