import { z } from 'zod';
import { Id } from './ids.ts';
import { Instant } from './shows.ts';

export const Role = z.enum(['shopper', 'seller', 'admin']);
export type Role = z.infer<typeof Role>;

export const Email = z
  .email({ message: 'must be an email address' })
  .max(254)
  .transform((email) => email.toLowerCase());

export const User = z.object({
  id: Id,
  email: z.string(),
  displayName: z.string(),
  role: Role,
});
export type User = z.infer<typeof User>;

export const SignUpRequest = z.object({
  email: Email,
  password: z.string().min(10, 'must be at least 10 characters').max(200, 'must be at most 200 characters'),
  displayName: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  /** Admins are made by an operator, never by sign-up. */
  role: z.enum(['shopper', 'seller']).default('shopper'),
});
export type SignUpRequest = z.input<typeof SignUpRequest>;

export const LoginRequest = z.object({
  email: Email,
  password: z.string().min(1, 'must not be empty').max(200),
});
export type LoginRequest = z.input<typeof LoginRequest>;

/** A signed-in session: the web keeps it in an HttpOnly cookie, API consumers send `token` as a bearer. */
export const Session = z.object({
  user: User,
  token: z.string(),
  expiresAt: Instant,
});
export type Session = z.infer<typeof Session>;
