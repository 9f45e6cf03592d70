import { type Browser, chromium, type LaunchOptions } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags that keep headless Chromium quiet on a machine with no internet, and that give it a fake
 * camera and microphone. Inside a private network namespace Chromium must also be allowed to use
 * loopback for WebRTC and must not hide host candidates behind mDNS names that cannot resolve there.
 */
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];
const LOOPBACK_WEBRTC_ARGS = ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'];

export interface ChromiumOptions extends Omit<LaunchOptions, 'executablePath'> {
  /** WebRTC over 127.0.0.1: only meaningful inside a private network namespace (see scripts/netns-run.sh). */
  loopbackWebRtc?: boolean;
}

export function launchChromium({ loopbackWebRtc = false, args = [], ...options }: ChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...BASE_ARGS, ...(loopbackWebRtc ? LOOPBACK_WEBRTC_ARGS : []), ...args],
    ...options,
  });
}
