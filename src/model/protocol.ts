// The L4 protocols a Service, an EndpointSlice or a container port may name.
import { readEnum } from './field-reader';
import type { ObjectContext } from './validation-issue';

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A protocol field; absent means TCP, as the apiserver defaults it. */
export function readProtocol(ctx: ObjectContext, value: unknown, path: string): Protocol {
  return readEnum(ctx, value, path, PROTOCOLS) ?? 'TCP';
}
