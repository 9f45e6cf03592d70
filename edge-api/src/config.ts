import { z } from 'zod';

const DEV_TOKEN_SECRET = 'dev-only-token-secret-change-me-in-production';

/** The Node runtime's configuration, from environment variables (see README, "Configuration"). */
export const NodeConfig = z
  .object({
    EDGE_API_HOST: z.string().default('127.0.0.1'),
    EDGE_API_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    DATA_DIR: z.string().default('data'),
    DATABASE_DRIVER: z.enum(['pglite', 'planetscale', 'neon']).default('pglite'),
    DATABASE_URL: z.string().optional(),
    /** For a Neon-protocol endpoint that is not Neon's cloud (the local one in packages/local-cloud). */
    NEON_LOCAL_ENDPOINT: z.url().optional(),
    TOKEN_SECRET: z.string().min(32, 'TOKEN_SECRET must be at least 32 characters').default(DEV_TOKEN_SECRET),
    /** Upstash Redis (or the local REST endpoint): the checkout's fast path. Without it, the SQL guard alone. */
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    /** `lock-per-product` is the seed project's design, kept as the checkout benchmark's baseline only. */
    CHECKOUT_DESIGN: z.enum(['reservation', 'lock-per-product']).default('reservation'),
    /** The RTMP URL sellers paste into OBS, shown beside their stream key. */
    RTMP_PUBLIC_URL: z.string().default('rtmp://localhost:1935/live'),
    /** How long a buyer has to pay before the order is cancelled and its units go back on sale. */
    PAYMENT_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
    SEED_DEMO_DATA: z.stringbool().default(true),
  })
  .refine((c) => c.DATABASE_DRIVER === 'pglite' || c.DATABASE_URL, { message: 'DATABASE_URL is required unless DATABASE_DRIVER is pglite', path: ['DATABASE_URL'] })
  .refine((c) => !c.UPSTASH_REDIS_REST_URL || c.UPSTASH_REDIS_REST_TOKEN, { message: 'UPSTASH_REDIS_REST_TOKEN is required with UPSTASH_REDIS_REST_URL', path: ['UPSTASH_REDIS_REST_TOKEN'] });
export type NodeConfig = z.infer<typeof NodeConfig>;

export function loadNodeConfig(env: Record<string, string | undefined> = process.env): NodeConfig {
  const parsed = NodeConfig.safeParse(env);
  if (!parsed.success) {
    throw new Error(`edge-api configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
