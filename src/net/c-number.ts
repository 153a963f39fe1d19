// Numbers as C's strtoul reads them with base 0, which iptables (xtables), ipset and the
// kernel tools use for most numeric arguments: "010" is 8, "0x10" is 16.

/**
 * A number as strtoul reads it with base 0 (what xtables uses for marks, ports, ids, reqids, spis):
 * "0x"/"0X" then hex, a leading 0 then octal ("010" is 8, "08" is refused), else decimal; the whole
 * text, at most `max`. Null when it is not such a number.
 */
export function parseCNumber(text: string, max: number): number | null {
  return scanCNumber(text, 0, text.length, max);
}

/** As parseCNumber, for text[from, to) (read without cutting the text). */
export function scanCNumber(text: string, from: number, to: number, max: number): number | null {
  if (to <= from) return null;
  let base = 10;
  let i = from;
  if (text.charCodeAt(i) === 48 && to - from > 1) {
    if ((text.charCodeAt(i + 1) | 0x20) === 120) {
      base = 16;
      i += 2;
      if (i >= to) return null;
    } else base = 8;
  }
  let n = 0;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 0x20;
    const digit = c >= 48 && c <= 57 ? c - 48 : base === 16 && lower >= 97 && lower <= 102 ? lower - 87 : 99;
    if (digit >= base) return null;
    n = n * base + digit;
    if (n > max) return null;
  }
  return n;
}

/**
 * A 64-bit number as strtoull reads it with base 0 (iptables' XTTYPE_UINT64 options: quotas, byte
 * counts), up to `max`: the same notation as parseCNumber, kept exact as a bigint. Null when it is
 * not such a number.
 */
export function parseCBigInt(text: string, max = 0xffffffffffffffffn): bigint | null {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) return null;
  const n = m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? BigInt(`0o${m[2] || '0'}`) : BigInt(m[3]!);
  return n <= max ? n : null;
}

/**
 * A floating-point number as C's strtod reads a whole text (libxt_statistic's --probability): an
 * optional sign, then decimal digits with an optional point and e-exponent, or 0x and hex digits
 * with an optional point and p-exponent (a power of two): "0x.8" is 0.5, "0x1p-2" 0.25. Null when
 * the text is no such number (strtod's inf and nan are not read).
 */
export function parseCDouble(raw: string): number | null {
  // strtod skips leading white space (and refuses trailing: the whole text must be read).
  const text = raw.replace(/^[ \t\n\v\f\r]+/, '');
  const m =
    /^([+-]?)(?:0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?|(\d*(?:\.\d*)?(?:[eE][+-]?\d+)?))$/.exec(
      text,
    );
  if (!m) return null;
  const sign = m[1] === '-' ? -1 : 1;
  if (m[5] !== undefined) {
    // Decimal: at least one digit; JavaScript reads the rest as strtod does.
    if (!/\d/.test(m[5].replace(/[eE].*$/, ''))) return null;
    return sign * Number(m[5]);
  }
  const whole = m[2] ?? '';
  const fraction = m[3] ?? '';
  if (whole === '' && fraction === '') return null;
  let value = whole === '' ? 0 : Number.parseInt(whole, 16);
  for (let i = 0; i < fraction.length; i++) value += Number.parseInt(fraction[i]!, 16) / 16 ** (i + 1);
  return sign * value * 2 ** Number(m[4] ?? 0);
}
