/** A stable hue (0–359) for an id, so a card without an image still gets a colour of its own. */
export function hueOf(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return hash;
}
