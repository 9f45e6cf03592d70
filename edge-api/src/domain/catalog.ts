import { DomainError } from './errors.ts';

export interface ProductRecord {
  id: string;
  sellerId: string;
  title: string;
  description: string;
  imageUrls: string[];
  priceAmount: number;
  currency: string;
  stock: number;
  status: 'active' | 'archived';
  createdAt: number;
  updatedAt: number;
}

export type ProductDraft = Pick<ProductRecord, 'title' | 'description' | 'imageUrls' | 'priceAmount' | 'currency' | 'stock'>;

export interface ProductStore {
  get(id: string): Promise<ProductRecord | null>;
  listActive(filter: { sellerId?: string; limit: number }): Promise<ProductRecord[]>;
  insert(product: ProductRecord): Promise<void>;
  update(product: ProductRecord): Promise<void>;
}

export function createProduct(draft: ProductDraft, sellerId: string, id: string, now: number): ProductRecord {
  return { id, sellerId, ...draft, status: 'active', createdAt: now, updatedAt: now };
}

export function editProduct(product: ProductRecord, actorId: string, patch: Partial<ProductDraft>, now: number): ProductRecord {
  assertOwner(product, actorId);
  if (product.status === 'archived') throw new DomainError('conflict', 'an archived product cannot be edited');
  return { ...product, ...patch, updatedAt: now };
}

export function archiveProduct(product: ProductRecord, actorId: string, now: number): ProductRecord {
  assertOwner(product, actorId);
  return { ...product, status: 'archived', updatedAt: now };
}

function assertOwner(product: ProductRecord, actorId: string): void {
  if (product.sellerId !== actorId) throw new DomainError('forbidden', 'only the product’s seller may change it');
}
