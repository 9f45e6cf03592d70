/// <reference lib="dom" />
/**
 * The canvas clock: the sender paints the wall-clock time (milliseconds, modulo 2^24) as a grid of
 * black and white blocks, with a CRC-8 to reject frames a lossy encoder smeared; the receiver reads
 * the blocks back from each presented frame. Big blocks survive every simulcast layer (a block is
 * 40x45 pixels even at 320x180).
 */

export const COLS = 8;
export const ROWS = 4;
const TIME_BITS = 24;
const CHECK_BITS = 8;
export const TIME_MODULUS = 2 ** TIME_BITS;

export function crc8(value: number): number {
  let crc = 0;
  for (const byte of [(value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** The 32 cells, most significant first: 24 bits of time, then the CRC-8 of those. */
export function encode(ms: number): boolean[] {
  const time = ms % TIME_MODULUS;
  const word = time * 2 ** CHECK_BITS + crc8(time);
  const bits: boolean[] = [];
  for (let i = COLS * ROWS - 1; i >= 0; i--) bits.push(Math.floor(word / 2 ** i) % 2 === 1);
  return bits;
}

/** The time in the cells, or undefined when the check fails. */
export function decode(bits: boolean[]): number | undefined {
  let time = 0;
  let check = 0;
  bits.forEach((bit, i) => {
    if (i < TIME_BITS) time = time * 2 + (bit ? 1 : 0);
    else check = check * 2 + (bit ? 1 : 0);
  });
  return crc8(time) === check ? time : undefined;
}

/** Milliseconds from `sent` (a clock value) to `receivedAt` (wall clock), across the modulus. */
export function elapsedSince(sent: number, receivedAt: number): number {
  return (((receivedAt % TIME_MODULUS) - sent) % TIME_MODULUS + TIME_MODULUS) % TIME_MODULUS;
}

/** Paints the clock on every animation frame; the canvas's captured track is what gets sent. */
export function startClock(canvas: HTMLCanvasElement, frameRate: number): { track: MediaStreamTrack; stop(): void } {
  const context = canvas.getContext('2d', { alpha: false });
  if (!context) throw new Error('no 2d context');
  const cellWidth = canvas.width / COLS;
  const cellHeight = canvas.height / ROWS;
  let running = true;
  const paint = () => {
    if (!running) return;
    const bits = encode(Date.now());
    bits.forEach((bit, i) => {
      context.fillStyle = bit ? '#fff' : '#000';
      context.fillRect((i % COLS) * cellWidth, Math.floor(i / COLS) * cellHeight, cellWidth, cellHeight);
    });
    requestAnimationFrame(paint);
  };
  paint();
  const track = canvas.captureStream(frameRate).getVideoTracks()[0];
  if (!track) throw new Error('the canvas gave no track');
  return {
    track,
    stop() {
      running = false;
      track.stop();
    },
  };
}

export type Measurement = {
  latencies: number[];
  /** Frames presented whose blocks did not pass the check (smeared by the encoder, or torn). */
  unreadable: number;
  /** Presented frames showing a clock value already seen. */
  repeated: number;
  /** How many frames had each height, e.g. { 720: 300 }. */
  heights: Record<number, number>;
};

/** Reads the clock from every frame `video` presents, for `durationMs`. */
export function measure(video: HTMLVideoElement, durationMs: number): Promise<Measurement> {
  const probe = document.createElement('canvas');
  const cell = 8;
  probe.width = COLS * cell;
  probe.height = ROWS * cell;
  const context = probe.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('no 2d context');
  const result: Measurement = { latencies: [], unreadable: 0, repeated: 0, heights: {} };
  const seen = new Set<number>();
  return new Promise((resolve) => {
    const endAt = performance.now() + durationMs;
    // A stream that stalls presents no frame to end on.
    const guard = setTimeout(() => resolve(result), durationMs + 3_000);
    const onFrame = () => {
      // The arrival time first: reading the pixels back takes a moment.
      const receivedAt = Date.now();
      context.drawImage(video, 0, 0, probe.width, probe.height);
      const pixels = context.getImageData(0, 0, probe.width, probe.height).data;
      const bits: boolean[] = [];
      for (let i = 0; i < COLS * ROWS; i++) {
        const x = (i % COLS) * cell + cell / 2;
        const y = Math.floor(i / COLS) * cell + cell / 2;
        const offset = (y * probe.width + x) * 4;
        const luma = 0.299 * pixels[offset]! + 0.587 * pixels[offset + 1]! + 0.114 * pixels[offset + 2]!;
        bits.push(luma > 127);
      }
      const sent = decode(bits);
      result.heights[video.videoHeight] = (result.heights[video.videoHeight] ?? 0) + 1;
      if (sent === undefined) result.unreadable++;
      else if (seen.has(sent)) result.repeated++;
      else {
        seen.add(sent);
        result.latencies.push(elapsedSince(sent, receivedAt));
      }
      if (performance.now() < endAt) video.requestVideoFrameCallback(onFrame);
      else {
        clearTimeout(guard);
        resolve(result);
      }
    };
    video.requestVideoFrameCallback(onFrame);
  });
}
