import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  initSchedulerState,
  MODELLED_SCHEDULERS,
  makeRealServer,
  pickServer,
  type RealServer,
  type SchedFlags,
} from '../../src/ipvs/index';

const serverArb = fc.record({
  weight: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })),
  activeConns: fc.integer({ min: 0, max: 50 }),
  inactConns: fc.integer({ min: 0, max: 50 }),
  overloaded: fc.boolean(),
});

const serversArb = fc
  .array(serverArb, { minLength: 0, maxLength: 8 })
  .map((specs) => specs.map((s, i) => makeRealServer({ address: 0x0af40000 + i + 1, port: 80, ...s })));

const packetArb = fc.record({
  src: fc.integer({ min: 0, max: 0xffffffff }),
  sport: fc.integer({ min: 1, max: 65535 }),
  dst: fc.integer({ min: 0, max: 0xffffffff }),
  dport: fc.integer({ min: 1, max: 65535 }),
});

const flagsArb = fc.record({ sched1: fc.boolean(), sched2: fc.boolean(), sched3: fc.boolean() });

const usable = (s: RealServer) => s.weight > 0 && !s.overloaded;

describe('every scheduler', () => {
  it.each(MODELLED_SCHEDULERS)('%s picks only servers with weight > 0, and null when none has', (name) => {
    fc.assert(
      fc.property(
        serversArb,
        fc.array(packetArb, { minLength: 1, maxLength: 6 }),
        flagsArb,
        (servers, packets, flags: SchedFlags) => {
          let state = initSchedulerState(name, servers, { mh: { tableIndex: 8 } });
          for (const packet of packets) {
            const pick = pickServer(name, state, servers, packet, flags, { mh: { tableIndex: 8 } });
            state = pick.state;
            if (pick.server !== null) expect(usable(servers[pick.server]!)).toBe(true);
            if (!servers.some(usable)) expect(pick.server).toBeNull();
            expect(pick.reason.startsWith(`${name}:`)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it.each(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq'] as const)('%s always finds a server when one is usable', (name) => {
    fc.assert(
      fc.property(serversArb, packetArb, (servers, packet) => {
        const pick = pickServer(name, initSchedulerState(name, servers), servers, packet, {
          sched1: false,
          sched2: false,
          sched3: false,
        });
        expect(pick.server !== null).toBe(servers.some(usable));
      }),
      { numRuns: 150 },
    );
  });
});
