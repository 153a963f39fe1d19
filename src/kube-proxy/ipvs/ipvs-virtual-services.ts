// IPVS mode's virtual servers as the kernel's IPVS table holds them (src/ipvs objects).
import {
  type IpvsProtocol,
  makeRealServer,
  makeVirtualService,
  type SchedulerName,
  type VirtualService,
} from '../../ipvs';
import { parseIPv4 } from '../../net';
import type { IpvsSync } from './sync-ipvs-state';

/** kube-proxy's virtual servers as the kernel holds them (servers added in order, as kube-proxy adds them). */
export function ipvsServices(sync: IpvsSync): VirtualService[] {
  return sync.virtualServers.map((vs) =>
    makeVirtualService({
      protocol: vs.protocol.toLowerCase() as IpvsProtocol,
      address: parseIPv4(vs.address)!,
      port: vs.port,
      scheduler: vs.scheduler as SchedulerName,
      flags: { persistent: vs.flags.includes('persistent'), sched2: vs.flags.includes('mh-port') },
      timeout: vs.timeout,
      // The kernel puts each new destination at the head of the list.
      servers: [...vs.realServers]
        .reverse()
        .map((r) => makeRealServer({ address: parseIPv4(r.address)!, port: r.port, weight: r.weight })),
    }),
  );
}
