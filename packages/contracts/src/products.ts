import { z } from 'zod';
import { Id } from './ids.ts';
import { Money } from './money.ts';

export const ProductStatus = z.enum(['active', 'archived']);

export const Product = z.object({
  id: Id,
  sellerId: Id,
  title: z.string(),
  description: z.string(),
  imageUrls: z.array(z.url()),
  price: Money,
  stock: z.int().nonnegative(),
  status: ProductStatus,
});
export type Product = z.infer<typeof Product>;

const ImageUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048);

const ProductFields = z.object({
  title: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(5000, 'must be at most 5000 characters'),
  imageUrls: z.array(ImageUrl).max(10, 'at most 10 images'),
  price: Money,
  stock: z.int('must be a whole number').nonnegative('must not be negative').max(1_000_000),
});

export const CreateProductRequest = ProductFields.extend({
  description: ProductFields.shape.description.default(''),
  imageUrls: ProductFields.shape.imageUrls.default([]),
});
export type CreateProductRequest = z.input<typeof CreateProductRequest>;

/** Only the fields given change; no defaults, so an edit never resets what it does not name. */
export const UpdateProductRequest = ProductFields.partial().refine((patch) => Object.keys(patch).length > 0, 'name at least one field to change');
export type UpdateProductRequest = z.input<typeof UpdateProductRequest>;

export const ProductList = z.object({ products: z.array(Product) });
export type ProductList = z.infer<typeof ProductList>;
