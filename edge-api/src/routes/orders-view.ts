import type { Order } from '@mytaek1/contracts';
import type { OrderRecord } from '../domain/orders.ts';

export function toOrder(order: OrderRecord): Order {
  const money = (amount: number) => ({ amount, currency: order.currency });
  return {
    id: order.id,
    buyerId: order.buyerId,
    sellerId: order.sellerId,
    showId: order.showId,
    productId: order.productId,
    quantity: order.quantity,
    unitPrice: money(order.unitPriceAmount),
    total: money(order.unitPriceAmount * order.quantity),
    flashDeal: order.flashDeal,
    status: order.status,
    createdAt: new Date(order.createdAt).toISOString(),
    payBy: order.status === 'pending' ? new Date(order.expiresAt).toISOString() : null,
  };
}
