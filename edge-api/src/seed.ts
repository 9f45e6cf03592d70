import { newId } from '@mytaek1/contracts';
import type { Kysely } from 'kysely';
import { hashPassword } from './auth/password.ts';
import type { Database } from './db/schema.ts';

/** The demo accounts `npm start` prints; the passwords are public, so they only ever exist in local data. */
export const DEMO_LOGINS = {
  seller: { email: 'seller@demo.mytaek1.test', password: 'demo-seller-1', displayName: 'Mina’s Closet' },
  shopper: { email: 'shopper@demo.mytaek1.test', password: 'demo-shopper-1', displayName: 'Jun' },
} as const;

/**
 * The demo seller's stream key, printed by `npm start` so OBS (or FFmpeg) can go live on the seeded
 * show at once. Public like the demo passwords, so it only ever exists in local demo data; the
 * studio rotates it like any other key.
 */
export const DEMO_STREAM_KEY = 'live_demo-seller-obs-key';

const DEMO_PRODUCTS = [
  { title: 'Linen overshirt, sand', description: 'Washed linen, relaxed fit, two chest pockets.', price: 5900, stock: 40 },
  { title: 'Merino crew, forest', description: 'Fine-gauge merino that does not itch.', price: 7900, stock: 25 },
  { title: 'Canvas tote, natural', description: 'Heavy canvas with a leather base; fits a laptop.', price: 3400, stock: 100 },
] as const;

/**
 * Seeds a demo seller (with a stream key), a shopper, three products and a scheduled show, once: a database that
 * already has users is left alone, so restarts keep whatever the demo users changed.
 */
export async function seedDemoData(db: Kysely<Database>, now = Date.now()): Promise<boolean> {
  const existing = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (existing) return false;

  const sellerId = newId(now);
  const shopperId = newId(now);
  await db.transaction().execute(async (tx) => {
    for (const [id, role, login] of [
      [sellerId, 'seller', DEMO_LOGINS.seller],
      [shopperId, 'shopper', DEMO_LOGINS.shopper],
    ] as const) {
      await tx
        .insertInto('users')
        .values({ id, email: login.email, display_name: login.displayName, role, password_hash: await hashPassword(login.password), created_at: now })
        .execute();
    }
    for (const product of DEMO_PRODUCTS) {
      await tx
        .insertInto('products')
        .values({
          id: newId(now),
          seller_id: sellerId,
          title: product.title,
          description: product.description,
          image_urls: '[]',
          price_amount: product.price,
          currency: 'USD',
          stock: product.stock,
          status: 'active',
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    await tx.insertInto('stream_keys').values({ stream_key: DEMO_STREAM_KEY, seller_id: sellerId, created_at: now, revoked_at: null }).execute();
    await tx
      .insertInto('shows')
      .values({
        id: newId(now),
        seller_id: sellerId,
        title: 'Autumn layers, live',
        description: 'Overshirts, knits and a tote that carries it all. Flash deals during the show.',
        status: 'scheduled',
        scheduled_at: now + 60 * 60 * 1000,
        started_at: null,
        ended_at: null,
        created_at: now,
        version: 0,
      })
      .execute();
  });
  return true;
}
