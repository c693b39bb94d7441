// Parses a byte size as operators write it in the environment: `10485760`, `10M`, `10MB`, `512k`, `1GiB`.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** The size in bytes, or undefined when the text is not a positive size. Units are binary (10M = 10 × 1024²). */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}
