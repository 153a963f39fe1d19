// `knetsim serve-dns SCENARIO --listen 127.0.0.1:5353`: a real DNS server on UDP and
// TCP answering from the scenario as CoreDNS would, logging each query.
import dgram from 'node:dgram';
import net from 'node:net';
import { answerWire } from '../dns';
import { coreDnsOf } from './dns-command';
import { loadScenarioInput } from './load-scenario-input';
import { UserError } from './user-error';

export interface ServeDnsOptions {
  listen: string;
}

export interface RunningServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`--listen: "${text}" is not HOST:PORT (e.g. 127.0.0.1:5353)`);
  return { host: m[1] ?? m[2]!, port };
}

/** Starts the server; resolves once both sockets listen (port 0 picks a free port for both). */
export async function serveDns(
  scenarioPath: string,
  o: ServeDnsOptions,
  log: (line: string) => void,
): Promise<RunningServer> {
  const scenario = await loadScenarioInput(scenarioPath);
  const dns = coreDnsOf(scenario);
  const { host, port } = parseListen(o.listen);
  const family = host.includes(':') ? 'udp6' : 'udp4';

  const tcp = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + query.length);
        const x = answerWire(dns, query, 'tcp', { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
        if (x.log !== null) log(x.log);
        if (x.response === null) continue;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(x.response.length);
        socket.write(Buffer.concat([length, x.response]));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (e) => reject(new UserError(`--listen ${o.listen}: ${(e as Error).message}`)));
    tcp.listen(port, host, () => resolve());
  });
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  const udp = dgram.createSocket(family);
  udp.on('message', (query, peer) => {
    const x = answerWire(dns, query, 'udp', { address: peer.address, port: peer.port });
    if (x.log !== null) log(x.log);
    if (x.response !== null) udp.send(x.response, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', (e) => {
      tcp.close();
      reject(new UserError(`--listen ${o.listen}: ${(e as Error).message}`));
    });
    udp.bind(tcpPort, host, () => resolve());
  });
  return {
    address: host,
    port: tcpPort,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close(() => tcp.close(() => resolve()));
      }),
  };
}
