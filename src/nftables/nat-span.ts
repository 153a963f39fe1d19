// A NAT statement's address and port span as nft writes it: "ADDR", "ADDR-ADDR", "PREFIX",
// each with an optional ":PORT[-PORT]", or ":PORT[-PORT]" alone (what dnat/snat `to` and a NAT
// map's values hold).
import { maskOf, parseIPv4, parseIPv4Prefix } from '../net';
import type { NatSpan } from './expression';

/** The span, or undefined when the text is none. */
export function natSpanOf(text: string): NatSpan | undefined {
  const colon = text.indexOf(':');
  const addressText = colon < 0 ? text : text.slice(0, colon);
  const portText = colon < 0 ? null : text.slice(colon + 1);
  let minAddress: number | null = null;
  let maxAddress: number | null = null;
  if (addressText !== '') {
    const slash = addressText.indexOf('/');
    const dash = addressText.indexOf('-');
    if (slash >= 0) {
      const p = parseIPv4Prefix(addressText);
      if (!p) return undefined;
      minAddress = p.address;
      maxAddress = (p.address | ~maskOf(p.length)) >>> 0;
    } else {
      minAddress = parseIPv4(dash < 0 ? addressText : addressText.slice(0, dash));
      maxAddress = dash < 0 ? minAddress : parseIPv4(addressText.slice(dash + 1));
      if (minAddress === null || maxAddress === null || maxAddress < minAddress) return undefined;
    }
  } else if (portText === null) return undefined;
  let minPort: number | null = null;
  let maxPort: number | null = null;
  if (portText !== null) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(portText);
    if (!m) return undefined;
    minPort = Number(m[1]);
    maxPort = m[2] === undefined ? minPort : Number(m[2]);
    if (minPort > 65535 || maxPort > 65535 || maxPort < minPort) return undefined;
  }
  return { minAddress, maxAddress, minPort, maxPort };
}
