import type { types as msc } from 'mediasoup-client';

/** How long a transport may stay `disconnected` (ICE consent lost) before it counts as failed. */
const DISCONNECTED_GRACE_MS = 5_000;

/**
 * Calls `onFailure` once when a transport's media connection fails, or stays disconnected for a few
 * seconds (a network change: ICE rarely recovers on its own from those). Returns a function that stops watching.
 */
export function watchTransport(transport: msc.Transport, onFailure: (cause: string) => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const fail = (cause: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    onFailure(cause);
  };
  const onChange = (state: msc.ConnectionState) => {
    clearTimeout(timer);
    if (state === 'failed') fail('the media connection failed');
    else if (state === 'disconnected') timer = setTimeout(() => fail('the media connection was lost'), DISCONNECTED_GRACE_MS);
  };
  transport.on('connectionstatechange', onChange);
  return () => {
    done = true;
    clearTimeout(timer);
    transport.off('connectionstatechange', onChange);
  };
}
