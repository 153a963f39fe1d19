// The --from / --to forms of the command line: addresses, IP:PORT, protocols.
import { type IPv4, type L4Protocol, parseIPv4 } from '../net';
import { UserError } from './user-error';

export function parseAddressArg(text: string, what: string): IPv4 {
  const a = parseIPv4(text);
  if (a === null) throw new UserError(`${what}: "${text}" is not an IPv4 address`);
  return a;
}

export function parseHostPort(text: string, what: string): { address: IPv4; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(text);
  if (!m) throw new UserError(`${what}: "${text}" is not IP:PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UserError(`${what}: ${port} is not a port (1-65535)`);
  return { address: parseAddressArg(m[1]!, what), port };
}

export function parseProtocolArg(text: string | undefined): L4Protocol {
  const p = (text ?? 'tcp').toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new UserError(`--proto: "${text}" is not tcp, udp or sctp`);
  return p;
}
