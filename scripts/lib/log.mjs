// Progress lines for humans: one prefix per step, so a newcomer sees what is happening and why.
const useColor = process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);

export const log = {
  step: (text) => console.error(paint('36', '›'), text),
  ok: (text) => console.error(paint('32', '✓'), text),
  warn: (text) => console.error(paint('33', '!'), text),
  fail: (text) => console.error(paint('31', '✗'), text),
};

export function elapsed(startedAt) {
  return `${((performance.now() - startedAt) / 1000).toFixed(1)} s`;
}
