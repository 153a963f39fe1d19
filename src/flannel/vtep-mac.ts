// The VTEP MAC flannel publishes in `backend-data` for a node's flannel.1.
// The real flanneld lets the kernel pick a random one; a scenario must be
// reproducible, so when the node does not already carry flannel's annotation we
// derive a stable, locally administered unicast MAC from the node's name.
import { createHash } from 'node:crypto';
import type { Node } from '../model';

export const BACKEND_DATA_ANNOTATION = 'flannel.alpha.coreos.com/backend-data';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The VtepMAC from the node's `backend-data` annotation, if it carries a valid one. */
function annotatedVtepMac(node: Node): string | undefined {
  const raw = node.annotations[BACKEND_DATA_ANNOTATION];
  if (!raw) return undefined;
  try {
    const data = JSON.parse(raw) as { VtepMAC?: unknown };
    const mac = typeof data.VtepMAC === 'string' ? data.VtepMAC.toLowerCase() : undefined;
    return mac && MAC.test(mac) ? mac : undefined;
  } catch {
    return undefined;
  }
}

export function vtepMac(node: Node): string {
  const given = annotatedVtepMac(node);
  if (given) return given;
  const bytes = [...createHash('sha256').update(`flannel.1/${node.name}`).digest().subarray(0, 6)];
  // Locally administered (bit 1 set), unicast (bit 0 clear), as a kernel-random MAC is.
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
