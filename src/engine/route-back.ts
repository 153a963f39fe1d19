// The reverse-path look-up -m rpfilter and nft's fib make: the route to a packet's
// source, from its destination, as from lo (flowi4_iif is the loopback device), with a
// mark, through the node's policy rules when it has some.
import { type IPv4, lookupRoute, type Route, routeByPolicy } from '../net';
import type { SimNode } from './sim-node';

/** The route back to `address` (from `src`, with `mark`); null when no rule's table has one or a rule refuses. */
export function routeBack(node: SimNode, address: IPv4, src: IPv4, mark: number): Route | null {
  if (!node.policyRules) return lookupRoute(node.routes, address);
  const found = routeByPolicy(node.routes, node.policyRules, {
    dst: address,
    src,
    mark,
    iif: 'lo',
    oif: null,
    uid: 0,
    protocol: 0,
    sport: 0,
    dport: 0,
  });
  return found.kind === 'route' ? found.route : null;
}
