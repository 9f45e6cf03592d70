/**
 * The browser media code's decisions, without a browser: which simulcast layer a player asks for,
 * when the network governor steps down and up, how a closed signaling socket is read, the reconnection
 * backoff, and where the page finds the sfu.
 */
import fc from 'fast-check';
import { SignalingCloseCode, SignalingCloseReason } from '@mytaek1/contracts';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { BandwidthGovernor, chooseSpatialLayer, estimateSpatialLayer, layerHeight } from './layers.ts';
import { outcomeOfClose } from './outcomes.ts';
import { signalingUrl } from './SfuSession.ts';
import { sfuPublicUrl } from './sfuUrl.ts';

describe('chooseSpatialLayer', () => {
  const source = { spatialLayers: 3, sourceHeight: 720 };

  it('asks for the smallest layer about as tall as the player in device pixels', () => {
    expect(chooseSpatialLayer({ ...source, displayHeight: 150 })).toBe(0); // 180p
    expect(chooseSpatialLayer({ ...source, displayHeight: 200 })).toBe(1); // 180p is too soft for 200 px
    expect(chooseSpatialLayer({ ...source, displayHeight: 360 })).toBe(1);
    expect(chooseSpatialLayer({ ...source, displayHeight: 375 })).toBe(1); // 360p is within the tolerance
    expect(chooseSpatialLayer({ ...source, displayHeight: 416 })).toBe(2); // a desktop show page's player
    expect(chooseSpatialLayer({ ...source, displayHeight: 2160 })).toBe(2);
  });

  it('asks for the top layer while the player’s size is unknown, and never above the cap', () => {
    expect(chooseSpatialLayer({ ...source, displayHeight: 0 })).toBe(2);
    expect(chooseSpatialLayer({ ...source, displayHeight: 1080, cap: 1 })).toBe(1);
    expect(chooseSpatialLayer({ ...source, displayHeight: 100, cap: 2 })).toBe(0);
    expect(chooseSpatialLayer({ spatialLayers: 1, sourceHeight: 720, displayHeight: 1080 })).toBe(0);
  });

  it('always answers a layer that exists, and a bigger player never gets a smaller layer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 90, max: 2160 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 500 }), (layers, sourceHeight, display, more) => {
        const small = chooseSpatialLayer({ spatialLayers: layers, sourceHeight, displayHeight: display || 1 });
        const big = chooseSpatialLayer({ spatialLayers: layers, sourceHeight, displayHeight: (display || 1) + more });
        expect(small).toBeGreaterThanOrEqual(0);
        expect(big).toBeLessThan(layers);
        expect(big).toBeGreaterThanOrEqual(small);
      }),
    );
  });
});

describe('estimateSpatialLayer', () => {
  it('places a frame height among layers that halve from the top', () => {
    expect([180, 360, 720].map((height) => estimateSpatialLayer(height, 3, 720))).toEqual([0, 1, 2]);
    // The encoder may crop a few lines; rounding still finds the layer.
    expect(estimateSpatialLayer(352, 3, 720)).toBe(1);
    expect(estimateSpatialLayer(0, 3, 720)).toBe(2);
    expect(estimateSpatialLayer(90, 3, 720)).toBe(0);
    expect(layerHeight(720, 0, 3)).toBe(180);
  });
});

describe('BandwidthGovernor', () => {
  const clean = (at: number, received: number) => ({ at, packetsReceived: received, packetsLost: 0 });

  it('steps down one layer after two lossy intervals, and not again before the hold time', () => {
    const governor = new BandwidthGovernor(3, { holdMs: 4_000 });
    governor.update(clean(0, 0));
    expect(governor.update({ at: 1_000, packetsReceived: 90, packetsLost: 10 })).toBe(2);
    expect(governor.update({ at: 2_000, packetsReceived: 180, packetsLost: 20 })).toBe(1);
    expect(governor.update({ at: 3_000, packetsReceived: 270, packetsLost: 30 })).toBe(1);
    expect(governor.update({ at: 4_000, packetsReceived: 360, packetsLost: 40 })).toBe(1);
    expect(governor.update({ at: 6_000, packetsReceived: 450, packetsLost: 50 })).toBe(0);
  });

  it('counts freezes as bad intervals even without loss', () => {
    const governor = new BandwidthGovernor(3);
    governor.update({ at: 0, packetsReceived: 0, packetsLost: 0, freezeCount: 0 });
    governor.update({ at: 1_000, packetsReceived: 100, packetsLost: 0, freezeCount: 1 });
    expect(governor.update({ at: 2_000, packetsReceived: 200, packetsLost: 0, freezeCount: 2 })).toBe(1);
  });

  it('ignores loss ratios over too few packets, and climbs back after a clean stretch', () => {
    const governor = new BandwidthGovernor(3, { probeAfterMs: 20_000, holdMs: 4_000 });
    governor.update(clean(0, 0));
    expect(governor.update({ at: 1_000, packetsReceived: 5, packetsLost: 5 })).toBe(2);
    governor.update({ at: 2_000, packetsReceived: 100, packetsLost: 50 });
    expect(governor.update({ at: 3_000, packetsReceived: 200, packetsLost: 100 })).toBe(1);
    let received = 200;
    let cap = 1;
    for (let at = 4_000; at <= 30_000; at += 1_000) cap = governor.update(clean(at, (received += 100)));
    expect(cap).toBe(2);
  });
});

describe('outcomeOfClose', () => {
  const close = (code: number, reason: string) => outcomeOfClose({ code, reason });

  it('stops for good on a forged, malformed or foreign token, with a message that says why', () => {
    const forged = close(SignalingCloseCode.unauthorized, 'token_bad_signature');
    expect(forged).toMatchObject({ kind: 'refused', reason: 'token_bad_signature' });
    expect(forged.kind === 'refused' && forged.message).toMatch(/signature does not match/);
    expect(close(SignalingCloseCode.unauthorized, 'token_wrong_audience')).toMatchObject({ kind: 'refused' });
    expect(close(SignalingCloseCode.forbidden, 'wrong_show')).toMatchObject({ kind: 'refused', reason: 'wrong_show' });
    expect(close(SignalingCloseCode.badRequest, 'protocol_error')).toMatchObject({ kind: 'refused' });
  });

  it('retries at once with a fresh token when the token expired on the way', () => {
    expect(close(SignalingCloseCode.unauthorized, 'token_expired')).toMatchObject({ kind: 'retry', soon: true });
  });

  it('ends when the show ended, however the sfu said it', () => {
    expect(close(SignalingCloseCode.showEnded, 'show_ended')).toEqual({ kind: 'ended' });
    expect(outcomeOfClose({ code: SignalingCloseCode.normal, reason: '' }, 'show_ended')).toEqual({ kind: 'ended' });
  });

  it('retries after a restart, a lost worker, a dropped connection', () => {
    expect(outcomeOfClose({ code: SignalingCloseCode.goingAway, reason: 'shutdown' }, 'shutdown')).toMatchObject({ kind: 'retry' });
    expect(outcomeOfClose({ code: SignalingCloseCode.internalError, reason: 'worker_lost' }, 'worker_lost')).toMatchObject({ kind: 'retry' });
    expect(close(1006, '')).toMatchObject({ kind: 'retry' });
  });

  it('has a readable answer for every close reason the protocol defines', () => {
    for (const reason of SignalingCloseReason.options) {
      for (const code of Object.values(SignalingCloseCode)) {
        const outcome = close(code, reason);
        if (outcome.kind === 'refused') expect(outcome.message.length).toBeGreaterThan(20);
      }
    }
  });
});

describe('Backoff', () => {
  it('doubles up to the ceiling, each delay in the upper half of its step, and starts over on reset', () => {
    const low = new Backoff({ baseMs: 500, maxMs: 10_000, random: () => 0 });
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    const high = new Backoff({ baseMs: 500, maxMs: 10_000, random: () => 1 });
    expect(Array.from({ length: 7 }, () => high.next())).toEqual([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    high.reset();
    expect(high.attempt).toBe(0);
    expect(high.next()).toBe(500);
  });
});

describe('where the page finds the sfu', () => {
  it('uses SFU_PUBLIC_URL when set (http spelled as ws), else the page’s host on port 4443', () => {
    const page = new URL('https://shop.example/shows/1');
    expect(sfuPublicUrl('wss://sfu.example', page)).toBe('wss://sfu.example');
    expect(sfuPublicUrl('http://127.0.0.1:5000/', page)).toBe('ws://127.0.0.1:5000');
    expect(sfuPublicUrl(undefined, page)).toBe('wss://shop.example:4443');
    expect(sfuPublicUrl('', new URL('http://[::1]:3000/'))).toBe('ws://[::1]:4443');
    expect(() => sfuPublicUrl('ftp://x', page)).toThrow(/SFU_PUBLIC_URL/);
  });

  it('keeps the token out of the signaling URL', () => {
    expect(signalingUrl('ws://127.0.0.1:4443', '01a20e95-6b99-76c3-9454-5c58d6f59073')).toBe('ws://127.0.0.1:4443/ws?show=01a20e95-6b99-76c3-9454-5c58d6f59073');
  });
});
