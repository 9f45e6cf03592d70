/**
 * Simulcast layer choice for a viewer: which spatial layer to ask the sfu for, from the size the video
 * is shown at and from how the network copes. Pure, so that it is tested without a browser.
 */

/** The rid of each simulcast layer, lowest first, as the Publisher sends them. */
export const LAYER_RIDS = ['r0', 'r1', 'r2'] as const;

/**
 * A layer is good enough when its frames are at least this share of the player's height in device
 * pixels: a little upscaling is invisible, and it keeps a player a few pixels taller than a layer
 * from doubling the bitrate it costs.
 */
const SHARPNESS_TOLERANCE = 0.95;

/** The frame height of spatial layer `layer` when the top one is `sourceHeight` (each layer halves it). */
export function layerHeight(sourceHeight: number, layer: number, spatialLayers: number): number {
  return sourceHeight / 2 ** (spatialLayers - 1 - layer);
}

/**
 * The lowest spatial layer whose frames are about as tall as the player in device pixels, capped by
 * what the network allows. An unknown player size (0) asks for the top layer.
 */
export function chooseSpatialLayer({
  spatialLayers,
  sourceHeight,
  displayHeight,
  cap = spatialLayers - 1,
}: {
  spatialLayers: number;
  /** Frame height of the top layer. */
  sourceHeight: number;
  /** The player's height in device pixels. */
  displayHeight: number;
  /** The highest layer the bandwidth governor allows. */
  cap?: number;
}): number {
  const top = Math.max(0, spatialLayers - 1);
  let wanted = top;
  if (displayHeight > 0 && sourceHeight > 0) {
    wanted = 0;
    while (wanted < top && layerHeight(sourceHeight, wanted, spatialLayers) < displayHeight * SHARPNESS_TOLERANCE) wanted++;
  }
  return Math.max(0, Math.min(wanted, cap, top));
}

/**
 * Which spatial layer a frame of `frameHeight` most likely belongs to, when the sfu does not say:
 * the layers halve from the top, whose height is the tallest frame seen or `assumedSourceHeight`.
 */
export function estimateSpatialLayer(frameHeight: number, spatialLayers: number, topHeight: number): number {
  if (frameHeight <= 0 || topHeight <= 0 || spatialLayers <= 1) return Math.max(0, spatialLayers - 1);
  const stepsDown = Math.round(Math.log2(topHeight / frameHeight));
  return Math.max(0, Math.min(spatialLayers - 1, spatialLayers - 1 - stepsDown));
}

/** A receiver's cumulative counters at one moment (WebRTC `inbound-rtp` stats). */
export type ReceiveSample = {
  at: number;
  packetsReceived: number;
  packetsLost: number;
  /** Chromium's count of video freezes, when reported. */
  freezeCount?: number;
};

export type GovernorOptions = {
  /** Loss above this share of packets in one interval counts as a bad interval. */
  lossThreshold?: number;
  /** This many bad intervals in a row lower the cap one layer. */
  badIntervals?: number;
  /** After a change, the cap stays put at least this long. */
  holdMs?: number;
  /** The cap goes up one layer after this long without a bad interval. */
  probeAfterMs?: number;
};

/**
 * Caps the spatial layer when the network does not keep up: loss or freezes lower it one layer at a
 * time, a long clean stretch raises it again. It complements the sfu's own bandwidth estimation,
 * which lowers the layer on congestion it can see (delay), with what only the receiver sees (loss on
 * the last mile, frames it could not render).
 */
export class BandwidthGovernor {
  readonly #top: number;
  readonly #lossThreshold: number;
  readonly #badIntervals: number;
  readonly #holdMs: number;
  readonly #probeAfterMs: number;
  #cap: number;
  #previous: ReceiveSample | undefined;
  #badInARow = 0;
  #lastChangeAt = -Infinity;
  #cleanSince: number | undefined;

  constructor(spatialLayers: number, { lossThreshold = 0.05, badIntervals = 2, holdMs = 4_000, probeAfterMs = 20_000 }: GovernorOptions = {}) {
    this.#top = Math.max(0, spatialLayers - 1);
    this.#cap = this.#top;
    this.#lossThreshold = lossThreshold;
    this.#badIntervals = badIntervals;
    this.#holdMs = holdMs;
    this.#probeAfterMs = probeAfterMs;
  }

  get cap(): number {
    return this.#cap;
  }

  /** Feeds one sample; returns the (possibly new) cap. */
  update(sample: ReceiveSample): number {
    const previous = this.#previous;
    this.#previous = sample;
    this.#cleanSince ??= sample.at;
    if (!previous) return this.#cap;
    const received = Math.max(0, sample.packetsReceived - previous.packetsReceived);
    const lost = Math.max(0, sample.packetsLost - previous.packetsLost);
    const froze = (sample.freezeCount ?? 0) > (previous.freezeCount ?? 0);
    // Too few packets to judge a loss ratio (an audio-like trickle, a paused stream): only freezes count.
    const lossy = received + lost >= 20 && lost / (received + lost) > this.#lossThreshold;
    if (lossy || froze) {
      this.#badInARow++;
      this.#cleanSince = undefined;
      if (this.#badInARow >= this.#badIntervals && this.#cap > 0 && sample.at - this.#lastChangeAt >= this.#holdMs) {
        this.#cap--;
        this.#lastChangeAt = sample.at;
        this.#badInARow = 0;
      }
    } else {
      this.#badInARow = 0;
      this.#cleanSince ??= sample.at;
      if (this.#cap < this.#top && sample.at - this.#cleanSince >= this.#probeAfterMs && sample.at - this.#lastChangeAt >= this.#holdMs) {
        this.#cap++;
        this.#lastChangeAt = sample.at;
        this.#cleanSince = sample.at;
      }
    }
    return this.#cap;
  }
}
