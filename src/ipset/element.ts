// Elements: the key each set type stores, read from the element text of `ipset add` (expanding
// CIDRs, address and port ranges as the tool does) and printed as `ipset save` prints it.

import { formatIPv4, type IPv4, type IPv4Prefix } from '../net/ipv4';
import { type AddressRange, notAddress, parseAddressRange, parseNetworks, parsePlainAddress } from './address-spec';
import { formatPortSpec, type PortRange, parsePortSpec } from './port-spec';
import { IPPROTO, protocolHasPorts } from './protocol';
import { err, ok, type Result } from './result';
import { type Dimension, type IpsetType, SET_TYPES } from './set-type';

/**
 * What a set stores per element; the fields present are the type's dimensions: `ip` (with
 * `cidr` for hash:net), `proto` and `port` (port holds (type << 8) | code for ICMP), `ip2`
 * (with `cidr2` for hash:ip,port,net).
 */
export interface IpsetKey {
  readonly ip?: IPv4;
  readonly cidr?: number;
  readonly proto?: number;
  readonly port?: number;
  readonly ip2?: IPv4;
  readonly cidr2?: number;
}

/** The most elements one `add` may expand to; the kernel's own bound is the set's maxelem. */
export const MAX_EXPANSION = 65536;

/** How the address of a hash:ip element is masked (netmask / bitmask create options). */
export const HOST_MASK = 0xffffffff;

function expandAddresses(range: AddressRange, mask: number): Result<IPv4[], string> {
  const contiguous = ((~mask >>> 0) & ((~mask >>> 0) + 1)) === 0;
  const addresses: IPv4[] = [];
  if (contiguous) {
    // A netmask makes one element per block, as the kernel steps through the range by blocks.
    const block = (~mask >>> 0) + 1;
    const start = (range.first & mask) >>> 0;
    const count = Math.floor((range.last - start) / block) + 1;
    if (count > MAX_EXPANSION) return err(tooMany(count));
    for (let i = 0; i < count; i++) addresses.push(start + i * block);
    return ok(addresses);
  }
  const count = range.last - range.first + 1;
  if (count > MAX_EXPANSION) return err(tooMany(count));
  const seen = new Set<number>();
  for (let a = range.first; a <= range.last; a++) {
    const masked = (a & mask) >>> 0;
    if (!seen.has(masked)) {
      seen.add(masked);
      addresses.push(masked);
    }
  }
  return ok(addresses);
}

function tooMany(count: number): string {
  return `it expands to ${count} elements; knetsim adds at most ${MAX_EXPANSION} at once`;
}

function portValues(range: PortRange): number[] {
  const values: number[] = [];
  for (let p = range.first; p <= range.last; p++) values.push(p);
  return values;
}

/**
 * Reads an element of `type` and returns every key it stands for (one unless it holds a CIDR
 * or a range). `mask` is the hash:ip netmask/bitmask; the reason names what is wrong.
 */
export function parseElement(type: IpsetType, text: string, mask: number = HOST_MASK): Result<IpsetKey[], string> {
  const dims = SET_TYPES[type].dimensions;
  const parts = text.split(',');
  if (parts.length !== dims.length) {
    return err(`it has ${parts.length} part${parts.length === 1 ? '' : 's'}, ${type} elements have ${dims.length}`);
  }
  // Each dimension gives a list of partial keys; the element is their cartesian product.
  let keys: IpsetKey[] = [{}];
  for (let i = 0; i < dims.length; i++) {
    const values = parseDimension(dims[i]!, parts[i]!, type, mask);
    if (!values.ok) return values;
    const total = keys.length * values.value.length;
    if (total > MAX_EXPANSION) return err(tooMany(total));
    const next: IpsetKey[] = [];
    for (const key of keys) for (const value of values.value) next.push({ ...key, ...value });
    keys = next;
  }
  return ok(keys);
}

function parseDimension(dim: Dimension, text: string, type: IpsetType, mask: number): Result<IpsetKey[], string> {
  switch (dim) {
    case 'ip': {
      const range = parseAddressRange(text);
      if (!range.ok) return range;
      const addresses = expandAddresses(range.value, type === 'hash:ip' ? mask : HOST_MASK);
      if (!addresses.ok) return addresses;
      // The kernel keeps no all-zero address in hash:ip (after its netmask) nor hash:ip,port.
      if ((type === 'hash:ip' || type === 'hash:ip,port') && addresses.value.includes(0))
        return err(
          type === 'hash:ip'
            ? 'Null-valued element, cannot be stored in a hash type of set'
            : 'Invalid argument: 0.0.0.0 cannot be stored',
        );
      return ok(addresses.value.map((ip) => ({ ip })));
    }
    case 'ip2': {
      const ip2 = parsePlainAddress(text);
      if (ip2 !== null) return ok([{ ip2 }]);
      return /[/-]/.test(text) ? err(`"${text}" must be a plain IP address`) : notAddress(text);
    }
    case 'net':
    case 'net2': {
      const nets = parseNetworks(text);
      if (!nets.ok) return nets;
      return ok(
        nets.value.map((n: IPv4Prefix) =>
          dim === 'net' ? { ip: n.address, cidr: n.length } : { ip2: n.address, cidr2: n.length },
        ),
      );
    }
    case 'port': {
      const range = parsePortSpec(text);
      if (!range.ok) return range;
      if (type === 'bitmap:port') {
        // bitmap:port ignores a protocol prefix, but takes tcp and udp alone (ipset's own check).
        if (!protocolHasPorts(range.value.proto)) return err(`bitmap:port holds ports and "${text}" has none`);
        if (range.value.proto !== IPPROTO.TCP && range.value.proto !== IPPROTO.UDP)
          return err('Only protocols TCP and UDP are valid');
        return ok(portValues(range.value).map((port) => ({ port })));
      }
      return ok(portValues(range.value).map((port) => ({ proto: range.value.proto, port })));
    }
  }
}

/** The element as `ipset save` prints it. */
export function formatElement(type: IpsetType, key: IpsetKey): string {
  switch (type) {
    case 'hash:ip':
      return formatIPv4(key.ip!);
    case 'hash:ip,port':
      return `${formatIPv4(key.ip!)},${formatPortSpec(key.proto!, key.port!)}`;
    case 'hash:ip,port,ip':
      return `${formatIPv4(key.ip!)},${formatPortSpec(key.proto!, key.port!)},${formatIPv4(key.ip2!)}`;
    case 'hash:ip,port,net':
      return `${formatIPv4(key.ip!)},${formatPortSpec(key.proto!, key.port!)},${formatNet(key.ip2!, key.cidr2!)}`;
    case 'hash:net':
      return formatNet(key.ip!, key.cidr!);
    case 'bitmap:port':
      return String(key.port!);
  }
}

// ipset prints a /32 network as a plain address.
function formatNet(address: IPv4, length: number): string {
  return length === 32 ? formatIPv4(address) : `${formatIPv4(address)}/${length}`;
}

/** The canonical identity of a key within a set of `type`: equal keys, equal ids. */
export function keyId(type: IpsetType, key: IpsetKey): string {
  switch (type) {
    case 'hash:ip':
      return String(key.ip);
    case 'hash:ip,port':
      return `${key.ip},${key.proto},${key.port}`;
    case 'hash:ip,port,ip':
      return `${key.ip},${key.proto},${key.port},${key.ip2}`;
    case 'hash:ip,port,net':
      return `${key.ip},${key.proto},${key.port},${key.ip2}/${key.cidr2}`;
    case 'hash:net':
      return `${key.ip}/${key.cidr}`;
    case 'bitmap:port':
      return String(key.port);
  }
}
