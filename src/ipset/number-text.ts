// Unsigned numbers as ipset's parser reads them (C strtoul with base 0): decimal, 0x-hex, and
// 0-led octal, so "010" is 8 and "080" is refused, exactly as the tool does.

const HEX = /^0[xX][0-9a-fA-F]+$/;
const OCTAL = /^0[0-7]*$/;
const DECIMAL = /^[1-9][0-9]*$/;

/** The value of `text`, or null when it is not a number or exceeds `max`. */
export function parseUnsignedBig(text: string, max: bigint): bigint | null {
  let value: bigint;
  if (HEX.test(text)) value = BigInt(text.toLowerCase());
  else if (OCTAL.test(text)) value = text.length === 1 ? 0n : BigInt(`0o${text.slice(1)}`);
  else if (DECIMAL.test(text)) value = BigInt(text);
  else return null;
  return value <= max ? value : null;
}

export function parseUnsigned(text: string, max: number): number | null {
  const value = parseUnsignedBig(text, BigInt(max));
  return value === null ? null : Number(value);
}

/** The reason ipset gives for a number it refuses, for error messages. */
export function numberReason(text: string, what: string, min: number, max: number): string {
  return parseUnsignedBig(text, 2n ** 64n) === null
    ? `${what} "${text}" is not a number`
    : `${what} ${text} is out of range ${min}-${max}`;
}
