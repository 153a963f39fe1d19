// The address and prefix parsers scan characters; what they accept is what the
// regular expressions below say (the tools' syntax: a dotted quad of 1-3 digit
// groups, each at most 255; "/LEN" of one or two digits up to 32, or "/MASK" as a
// contiguous dotted mask). The property runs both on strings near the syntax.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lengthOfMask, maskOf, parseIPv4, parseIPv4Prefix } from '../../src/net';

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function referenceAddress(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return octets.reduce((v, o) => v * 256 + o, 0);
}

function referencePrefix(text: string): { address: number; length: number } | null {
  const slash = text.indexOf('/');
  const address = referenceAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  if (slash < 0) return { address, length: 32 };
  const rest = text.slice(slash + 1);
  let length: number | null;
  if (/^\d{1,2}$/.test(rest)) {
    length = Number(rest);
    if (length > 32) return null;
  } else {
    const mask = referenceAddress(rest);
    length = mask === null ? null : lengthOfMask(mask);
  }
  return length === null ? null : { address: (address & maskOf(length)) >>> 0, length };
}

/** Strings made of the syntax's own characters (and a few strays), plus well-formed ones. */
const nearAddress = fc.oneof(
  fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '.', '.', '/', 'a', ' ', '-'), maxLength: 22 }),
  fc
    .tuple(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 300 }).map(String),
          // Leading zeros, and groups of four digits.
          fc.string({ unit: fc.constantFrom('0', '1', '2', '5'), minLength: 1, maxLength: 4 }),
        ),
        { minLength: 3, maxLength: 5 },
      ),
      fc.option(fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('255.255.0.0', '255.0.255.0'))),
    )
    .map(([octets, suffix]) => octets.join('.') + (suffix === null ? '' : `/${suffix}`)),
  fc.constantFrom(
    '1.2.3.4',
    '010.001.0.041',
    '255.255.255.255',
    '1.2.3.4/',
    '1.2.3.4/033',
    '1..2.3',
    '1.2.3.4.',
    '1.2.3.',
    '1.2.3./8',
  ),
);

describe('IPv4 parsing', () => {
  it('accepts and reads addresses exactly as the dotted-quad syntax says', () => {
    fc.assert(
      fc.property(nearAddress, (text) => {
        expect(parseIPv4(text)).toBe(referenceAddress(text));
      }),
      {
        numRuns: 3000,
      },
    );
  });
  it('accepts and reads prefixes (a length or a dotted mask) exactly as the syntax says', () => {
    fc.assert(
      fc.property(nearAddress, (text) => {
        expect(parseIPv4Prefix(text)).toEqual(referencePrefix(text));
      }),
      {
        numRuns: 3000,
      },
    );
  });
  it('reads the usual forms', () => {
    expect(parseIPv4('10.244.1.5')).toBe(0x0af40105);
    expect(parseIPv4('172.30.0.041')).toBe(0xac1e0029);
    expect(parseIPv4('256.0.0.1')).toBeNull();
    expect(parseIPv4Prefix('10.244.1.5/16')).toEqual({ address: 0x0af40000, length: 16 });
    expect(parseIPv4Prefix('10.0.0.0/255.255.0.0')).toEqual({ address: 0x0a000000, length: 16 });
    expect(parseIPv4Prefix('10.0.0.0/255.0.255.0')).toBeNull();
    expect(parseIPv4Prefix('10.0.0.0/33')).toBeNull();
  });
});
