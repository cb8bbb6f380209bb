// Generated identicons: a stable 5x5 symmetric pattern per address, as an SVG data URL (no network).
export function identicon(address: string): string {
  const hex = address.toLowerCase().replace(/^0x/, "").padEnd(40, "0");
  const hue = parseInt(hex.slice(0, 4), 16) % 360;
  const cells: string[] = [];
  for (let row = 0; row < 5; row += 1) {
    for (let col = 0; col < 3; col += 1) {
      const on = parseInt(hex[row * 3 + col + 4] ?? "0", 16) % 2 === 0;
      if (!on) continue;
      for (const x of new Set([col, 4 - col])) cells.push(`<rect x="${x}" y="${row}" width="1" height="1"/>`);
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6"><rect x="-0.5" y="-0.5" width="6" height="6" fill="hsl(${hue} 30% 94%)"/><g fill="hsl(${hue} 55% 42%)">${cells.join("")}</g></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}
