import type { Pin } from '@mytaek1/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PageVisibility, pollingPinSource } from './pin-source.ts';

const pinWithStock = (stock: number): Pin => ({
  showId: '0193a000-0000-7000-8000-000000000001',
  productId: '0193a000-0000-7000-8000-000000000002',
  slot: 1,
  title: 'Linen overshirt',
  imageUrls: [],
  price: { amount: 5900, currency: 'USD' },
  stock,
  flashDeal: null,
  pinnedAt: '2026-11-25T10:00:00.000Z',
});

/** A page whose visibility the test flips. */
function fakeVisibility(): PageVisibility & { set(visible: boolean): void } {
  let visible = true;
  const listeners = new Set<() => void>();
  return {
    visible: () => visible,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next) {
      visible = next;
      for (const listener of listeners) listener();
    },
  };
}

describe('pollingPinSource', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('polls every interval while visible, pauses while hidden, and polls at once on coming back', async () => {
    let stock = 3;
    const fetchPins = vi.fn(async () => [pinWithStock(stock)]);
    const visibility = fakeVisibility();
    const seen: number[] = [];
    const stop = pollingPinSource(fetchPins, { intervalMs: 2_000, visibility }).subscribe((pins) => seen.push(pins[0]!.stock));

    expect(fetchPins).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    stock = 2;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen).toEqual([3, 2]);

    visibility.set(false);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fetchPins).toHaveBeenCalledTimes(2);

    stock = 0;
    visibility.set(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([3, 2, 0]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetchPins).toHaveBeenCalledTimes(4);

    stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(fetchPins).toHaveBeenCalledTimes(4);
  });

  it('keeps polling after a failed poll, and a refresh replaces the poll in flight', async () => {
    const answers: Array<() => Promise<Pin[]>> = [
      async () => {
        throw new TypeError('offline');
      },
      () => new Promise<Pin[]>(() => {}), // never answers: the refresh below must take over
      async () => [pinWithStock(1)],
      async () => [pinWithStock(0)],
    ];
    const signals: AbortSignal[] = [];
    const fetchPins = vi.fn((signal: AbortSignal) => {
      signals.push(signal);
      return answers.shift()!();
    });
    const seen: number[] = [];
    const source = pollingPinSource(fetchPins, { intervalMs: 2_000, visibility: fakeVisibility() });
    const stop = source.subscribe((pins) => seen.push(pins[0]!.stock));

    await vi.advanceTimersByTimeAsync(4_000);
    expect(fetchPins).toHaveBeenCalledTimes(2);
    source.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(signals[1]!.aborted).toBe(true);
    expect(seen).toEqual([1]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen).toEqual([1, 0]);
    stop();
  });
});
