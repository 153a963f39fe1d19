import { describe, expect, it } from 'vitest';
import {
  dhBuckets,
  dhHashKey,
  dhPick,
  foPick,
  type HashTableState,
  initSchedulerState,
  type LblcState,
  lblcPick,
  lcPick,
  MH_PRIMES,
  mhDestSetup,
  mhHashKey,
  mhPick,
  mhPopulate,
  NO_SCHED_FLAGS,
  nqPick,
  ovfPick,
  type RealServer,
  type RrState,
  rrPick,
  rrUpdate,
  sedPick,
  serverName,
  shBuckets,
  shHashKey,
  shPick,
  type WrrState,
  wlcPick,
  wrrInit,
  wrrPick,
  wrrUpdate,
} from '../../src/ipvs/index';
import { ip, pkt, srv } from './servers';

const LETTER: Readonly<Record<string, string>> = { '10.244.0.1:80': 'A', '10.244.0.2:80': 'B', '10.244.0.3:80': 'C' };

function rrSequence(servers: readonly RealServer[], count: number, state: RrState = { kind: 'rr', cursor: null }) {
  const names: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const pick = rrPick(state, servers);
    state = pick.state;
    names.push(pick.server === null ? null : serverName(servers[pick.server]!));
  }
  return { names, state };
}

function wrrSequence(servers: readonly RealServer[], count: number, state: WrrState = wrrInit(servers)) {
  const names: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const pick = wrrPick(state, servers);
    state = pick.state;
    names.push(pick.server === null ? null : (LETTER[serverName(servers[pick.server]!)] ?? '?'));
  }
  return { names, state };
}

describe('rr (ip_vs_rr.c)', () => {
  const a = srv('10.244.0.1');
  const b = srv('10.244.0.2');
  const c = srv('10.244.0.3');

  it('walks the list from the head, wrapping', () => {
    expect(rrSequence([a, b, c], 4).names).toEqual([
      '10.244.0.1:80',
      '10.244.0.2:80',
      '10.244.0.3:80',
      '10.244.0.1:80',
    ]);
  });

  it('skips weight 0 and overloaded servers', () => {
    const quiesced = srv('10.244.0.2', { weight: 0 });
    const overloaded = srv('10.244.0.3', { overloaded: true });
    expect(rrSequence([a, quiesced, c], 4).names).toEqual([
      '10.244.0.1:80',
      '10.244.0.3:80',
      '10.244.0.1:80',
      '10.244.0.3:80',
    ]);
    expect(rrSequence([a, b, overloaded], 3).names).toEqual(['10.244.0.1:80', '10.244.0.2:80', '10.244.0.1:80']);
  });

  it('returns null with the state unchanged when nobody can take it', () => {
    const pick = rrPick({ kind: 'rr', cursor: '10.244.0.1:80' }, [srv('10.244.0.1', { weight: 0 })]);
    expect(pick.server).toBeNull();
    expect(pick.state.cursor).toBe('10.244.0.1:80');
    expect(pick.reason).toMatch(/^rr: no destination available/);
  });

  it('can come back to the cursor itself when it is the only available one', () => {
    const servers = [a, srv('10.244.0.2', { weight: 0 })];
    expect(rrSequence(servers, 3).names).toEqual(['10.244.0.1:80', '10.244.0.1:80', '10.244.0.1:80']);
  });

  it('moves a cursor on a deleted server back to its predecessor (ip_vs_rr_del_dest)', () => {
    const { state } = rrSequence([a, b, c], 2); // cursor on b
    expect(state.cursor).toBe('10.244.0.2:80');
    const moved = rrUpdate(state, [a, b, c], [a, c]);
    expect(moved.cursor).toBe('10.244.0.1:80');
    expect(rrSequence([a, c], 1, moved).names).toEqual(['10.244.0.3:80']);
    // Deleting the first entry while the cursor is on it goes back to the head.
    expect(rrUpdate({ kind: 'rr', cursor: '10.244.0.1:80' }, [a, b, c], [b, c]).cursor).toBeNull();
  });
});

describe('wrr (ip_vs_wrr.c)', () => {
  const A = srv('10.244.0.1', { weight: 4 });
  const B = srv('10.244.0.2', { weight: 3 });
  const C = srv('10.244.0.3', { weight: 2 });

  it('gives weights 4,3,2 the kernel order over a full cycle', () => {
    // di = gcd = 1, mw = 4, cw starts at 4. Each pass takes servers with weight >= cw:
    // cw=4: A | cw=3: A B | cw=2: A B C | cw=1: A B C | then cw wraps to 4.
    const { names, state } = wrrSequence([A, B, C], 18);
    expect(names.slice(0, 9)).toEqual(['A', 'A', 'B', 'A', 'B', 'C', 'A', 'B', 'C']);
    expect(names.slice(9)).toEqual(names.slice(0, 9));
    expect(state.cw).toBe(1);
  });

  it('steps cw by the gcd, with mw lowered by gcd-1 (weights 4,2 -> di 2, mw 3)', () => {
    const X = srv('10.244.0.1', { weight: 4 });
    const Y = srv('10.244.0.2', { weight: 2 });
    expect(wrrInit([X, Y])).toEqual({ kind: 'wrr', cursor: null, cw: 3, mw: 3, di: 2 });
    // cw=3: A | cw=1: A B | wrap: cw=3: A | cw=1: A B
    expect(wrrSequence([X, Y], 6).names).toEqual(['A', 'A', 'B', 'A', 'A', 'B']);
  });

  it('never picks weight 0 and fails when all weights are 0', () => {
    const zero = srv('10.244.0.2', { weight: 0 });
    expect(wrrSequence([A, zero], 3).names).toEqual(['A', 'A', 'A']);
    const none = [srv('10.244.0.1', { weight: 0 })];
    const pick = wrrPick(wrrInit(none), none);
    expect(pick.server).toBeNull();
    expect(pick.state.mw).toBe(0);
  });

  it('fails after the last pass when every server is overloaded', () => {
    const servers = [srv('10.244.0.1', { overloaded: true }), srv('10.244.0.2', { overloaded: true })];
    expect(wrrPick(wrrInit(servers), servers).server).toBeNull();
  });

  it('resets the cursor to the head on a change and keeps a cw that still fits', () => {
    const { state } = wrrSequence([A, B, C], 4); // after A A B A: cw = 2
    expect(state.cw).toBe(2);
    const updated = wrrUpdate(state, [A, B, C], [A, B]);
    expect(updated).toEqual({ kind: 'wrr', cursor: null, cw: 2, mw: 4, di: 1 });
  });
});

describe('lc (ip_vs_lc.c)', () => {
  it('picks the smallest active*256 + inactive', () => {
    const servers = [
      srv('10.244.0.1', { activeConns: 1 }), // 256
      srv('10.244.0.2', { inactConns: 10 }), // 10
      srv('10.244.0.3', { inactConns: 5 }), // 5
    ];
    const pick = lcPick(servers);
    expect(pick.server).toBe(2);
    expect(pick.reason).toBe('lc: 10.244.0.3:80 overhead 5 (active 0*256 + inactive 5)');
  });

  it('keeps the first of equals and ignores weight except 0', () => {
    const servers = [
      srv('10.244.0.1', { weight: 0 }),
      srv('10.244.0.2', { weight: 1 }),
      srv('10.244.0.3', { weight: 100 }),
    ];
    expect(lcPick(servers).server).toBe(1);
  });
});

describe('wlc (ip_vs_wlc.c)', () => {
  it('compares overhead/weight by cross-multiplication', () => {
    // A: 256/1; B: 512/3 -> 256*3 = 768 > 512*1 = 512, so B is lighter.
    const servers = [srv('10.244.0.1', { activeConns: 1 }), srv('10.244.0.2', { weight: 3, activeConns: 2 })];
    const pick = wlcPick(servers);
    expect(pick.server).toBe(1);
    expect(pick.reason).toBe('wlc: 10.244.0.2:80 overhead 512/weight 3');
  });

  it('reports the brief example and keeps the first on a tie', () => {
    const servers = [srv('10.244.2.3'), srv('10.244.2.4')];
    expect(wlcPick(servers).reason).toBe('wlc: 10.244.2.3:80 overhead 0/weight 1');
    // 10/2 and 5/1 tie: 10*1 > 5*2 is false, the first stays.
    expect(
      wlcPick([srv('10.244.0.1', { weight: 2, inactConns: 10 }), srv('10.244.0.2', { inactConns: 5 })]).server,
    ).toBe(0);
  });

  it('seeds from the first available server, skipping weight 0 and overloaded', () => {
    const servers = [
      srv('10.244.0.1', { weight: 0 }),
      srv('10.244.0.2', { overloaded: true }),
      srv('10.244.0.3', { activeConns: 9 }),
    ];
    expect(wlcPick(servers).server).toBe(2);
  });
});

describe('sed (ip_vs_sed.c)', () => {
  it('uses (active + 1)/weight and ignores inactive connections', () => {
    // A: (0+1)/1, B: (1+1)/3 -> 1*3 = 3 > 2*1 = 2, B wins; wlc would pick A (overhead 0).
    const servers = [srv('10.244.0.1', { inactConns: 50 }), srv('10.244.0.2', { weight: 3, activeConns: 1 })];
    expect(sedPick(servers).server).toBe(1);
    expect(wlcPick([srv('10.244.0.1'), srv('10.244.0.2', { weight: 3, activeConns: 1 })]).server).toBe(0);
  });
});

describe('fo (ip_vs_fo.c)', () => {
  it('sends every connection to the highest weight, the first on a tie, whatever the load', () => {
    const servers = [
      srv('10.244.0.1', { weight: 2, activeConns: 90 }),
      srv('10.244.0.2', { weight: 5, activeConns: 500 }),
      srv('10.244.0.3', { weight: 5 }),
    ];
    const pick = foPick(servers);
    expect([pick.server, pick.reason]).toEqual([1, 'fo: 10.244.0.2:80 has the highest weight (5)']);
  });
  it('fails over past overloaded and weight-0 servers, and finds none among them', () => {
    const servers = [srv('10.244.0.1', { weight: 2 }), srv('10.244.0.2', { weight: 5, overloaded: true })];
    expect(foPick(servers).server).toBe(0);
    expect(foPick([srv('10.244.0.1', { weight: 0 })])).toMatchObject({
      server: null,
      reason: 'fo: no destination available',
    });
  });
});

describe('ovf (ip_vs_ovf.c)', () => {
  it('fills the highest weight up to its weight in active connections, then overflows to the next', () => {
    const at = (active: number) => [
      srv('10.244.0.1', { weight: 1 }),
      srv('10.244.0.2', { weight: 3, activeConns: active }),
      srv('10.244.0.3', { weight: 2 }),
    ];
    expect(ovfPick(at(3)).server).toBe(1);
    expect(ovfPick(at(3)).reason).toBe('ovf: 10.244.0.2:80 has the highest weight (3) of those within it (active 3)');
    // More active connections than its weight: the next weight down takes it.
    expect(ovfPick(at(4)).server).toBe(2);
  });
  it('skips overloaded and weight-0 servers; none left: no destination', () => {
    expect(ovfPick([srv('10.244.0.1', { weight: 0 }), srv('10.244.0.2', { overloaded: true })])).toMatchObject({
      server: null,
      reason: 'ovf: no destination available',
    });
  });
});

describe('lblc (ip_vs_lblc.c)', () => {
  const VIP = ip('10.96.0.10');
  const EMPTY: LblcState = { kind: 'lblc', cache: {} };
  it('schedules a new destination by least weighted load and keeps going there, load or not', () => {
    const servers = [srv('10.244.0.1', { activeConns: 3 }), srv('10.244.0.2', { activeConns: 1 })];
    const first = lblcPick(EMPTY, servers, VIP);
    expect([first.server, first.reason]).toEqual([
      1,
      'lblc: no cached server for the destination; least loaded 10.244.0.2:80 overhead 256/weight 1',
    ]);
    // The cached server keeps the destination while it is not overloaded in lblc's sense.
    const busier = [srv('10.244.0.1', { activeConns: 0 }), srv('10.244.0.2', { activeConns: 1 })];
    const again = lblcPick(first.state, busier, VIP);
    expect([again.server, again.reason]).toEqual([1, "lblc: the destination's cached server 10.244.0.2:80"]);
    // Another destination is scheduled on its own.
    expect(lblcPick(first.state, busier, ip('10.96.0.11')).server).toBe(0);
  });
  it('reschedules when the cached server is over its weight while another runs under half of its own', () => {
    const cached = lblcPick(
      EMPTY,
      [srv('10.244.0.1', { weight: 1 }), srv('10.244.0.2', { weight: 4, activeConns: 1 })],
      VIP,
    );
    expect(cached.server).toBe(0);
    const over = [srv('10.244.0.1', { weight: 1, activeConns: 2 }), srv('10.244.0.2', { weight: 4, activeConns: 1 })];
    const moved = lblcPick(cached.state, over, VIP);
    expect([moved.server, moved.reason.split(';')[0]]).toEqual([
      1,
      'lblc: the cached 10.244.0.1:80 is quiesced or overloaded',
    ]);
    // Everyone busy (none under half its weight): it stays.
    const allBusy = [
      srv('10.244.0.1', { weight: 1, activeConns: 2 }),
      srv('10.244.0.2', { weight: 4, activeConns: 2 }),
    ];
    expect(lblcPick(cached.state, allBusy, VIP).server).toBe(0);
  });
  it('a removed or quiesced cached server gives way', () => {
    const cached = lblcPick(EMPTY, [srv('10.244.0.1'), srv('10.244.0.2', { activeConns: 1 })], VIP);
    expect(lblcPick(cached.state, [srv('10.244.0.2', { activeConns: 1 })], VIP).reason).toMatch(
      /^lblc: the cached 10\.244\.0\.1:80 is gone; /,
    );
    expect(
      lblcPick(cached.state, [srv('10.244.0.1', { weight: 0 }), srv('10.244.0.2', { activeConns: 1 })], VIP).server,
    ).toBe(1);
  });
});

describe('nq (ip_vs_nq.c)', () => {
  it('takes the first idle server (no active connections) at once', () => {
    const servers = [
      srv('10.244.0.1', { activeConns: 1 }),
      srv('10.244.0.2', { weight: 3, activeConns: 2 }),
      srv('10.244.0.3', { inactConns: 7 }),
    ];
    const pick = nqPick(servers);
    expect(pick.server).toBe(2);
    expect(pick.reason).toBe('nq: 10.244.0.3:80 is idle (0 active connections)');
  });

  it('falls back to the shortest expected delay', () => {
    // A: (1+1)/1 = 2, B: (2+1)/3 = 1 -> 2*3 = 6 > 3*1 = 3, B.
    const servers = [srv('10.244.0.1', { activeConns: 1 }), srv('10.244.0.2', { weight: 3, activeConns: 2 })];
    expect(nqPick(servers).server).toBe(1);
  });
});

describe('sh (ip_vs_sh.c)', () => {
  // 2654435761 = 0x9E3779B1. Only the low byte survives "& 255", and the low byte of a product
  // depends only on the factors' low bytes: bucket = (last octet * 0xB1) & 255.
  //   10.0.0.1: 177 & 255 = 177     10.0.0.2: 354 & 255 = 98
  //   10.0.0.3: 531 & 255 = 19      10.0.0.4: 708 & 255 = 196      10.0.0.5: 885 & 255 = 117
  const sources = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];

  it('hashes as the kernel does', () => {
    expect(sources.map((s) => shHashKey(ip(s), 0, 0))).toEqual([177, 98, 19, 196, 117]);
    expect(shHashKey(ip('192.168.1.77'), 0, 0)).toBe((77 * 0xb1) & 255);
  });

  it('tiles three weight-1 servers A B C A B C ... and picks bucket mod 3', () => {
    const servers = [srv('10.244.0.1'), srv('10.244.0.2'), srv('10.244.0.3')];
    const state = initSchedulerState('sh', servers) as HashTableState;
    // 177 % 3 = 0 -> A, 98 % 3 = 2 -> C, 19 % 3 = 1 -> B, 196 % 3 = 1 -> B, 117 % 3 = 0 -> A
    const picks = sources.map((s) => shPick(state, servers, pkt(s), NO_SCHED_FLAGS).server);
    expect(picks).toEqual([0, 2, 1, 1, 0]);
    expect(shPick(state, servers, pkt('10.0.0.1'), NO_SCHED_FLAGS).reason).toBe(
      'sh: source 10.0.0.1 -> bucket 177 -> 10.244.0.1:80',
    );
  });

  it('gives a weight-2 server two consecutive buckets (A A B C A A B C ...)', () => {
    const servers = [srv('10.244.0.1', { weight: 2 }), srv('10.244.0.2'), srv('10.244.0.3')];
    expect(shBuckets(servers).slice(0, 8)).toEqual([0, 0, 1, 2, 0, 0, 1, 2]);
    // 177 % 4 = 1 -> A, 98 % 4 = 2 -> B, 19 % 4 = 3 -> C, 196 % 4 = 0 -> A
    const state = { kind: 'hash-table' as const, buckets: shBuckets(servers) };
    expect(sources.slice(0, 4).map((s) => shPick(state, servers, pkt(s), NO_SCHED_FLAGS).server)).toEqual([0, 1, 2, 0]);
  });

  it('returns null for a quiesced server unless sh-fallback is set', () => {
    const servers = [srv('10.244.0.1', { weight: 0 }), srv('10.244.0.2'), srv('10.244.0.3')];
    const state = { kind: 'hash-table' as const, buckets: shBuckets(servers) };
    // weight 0 still takes one bucket (d_count 1 >= 0), so the table is A B C A B C ...
    expect(shPick(state, servers, pkt('10.0.0.1'), NO_SCHED_FLAGS).server).toBeNull();
    // Fallback: offset 177 -> (177 + 1*177) & 255 = 98 -> 98 % 3 = 2 -> C.
    const fallback = shPick(state, servers, pkt('10.0.0.1'), { ...NO_SCHED_FLAGS, sched1: true });
    expect(fallback.server).toBe(2);
  });

  it('hashes the source port with sh-port', () => {
    // (1 + 0x0A000001) low byte: port 1 + addr 1 = 2 -> 2*177 & 255 = 98
    expect(shHashKey(ip('10.0.0.1'), 1, 0)).toBe(98);
  });
});

describe('dh (ip_vs_dh.c)', () => {
  it('deals buckets round robin, without weights, and hashes the destination', () => {
    const servers = [srv('10.244.0.1', { weight: 5 }), srv('10.244.0.2'), srv('10.244.0.3')];
    expect(dhBuckets(servers).slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(dhHashKey(ip('10.96.0.2'))).toBe(98);
    const state = { kind: 'hash-table' as const, buckets: dhBuckets(servers) };
    expect(dhPick(state, servers, pkt('10.0.0.9', 1, '10.96.0.2')).server).toBe(98 % 3);
  });
});

describe('mh (ip_vs_mh.c)', () => {
  const servers = [srv('10.244.0.1'), srv('10.244.0.2'), srv('10.244.0.3')];

  it('derives offset and skip from hsiphash of the server address and port', () => {
    const [d] = mhDestSetup(servers, 251, 8);
    expect(d!.offset).toBe(mhHashKey(ip('10.244.0.1'), 80, 1, 0) % 251);
    expect(d!.skip).toBe((mhHashKey(ip('10.244.0.1'), 80, 2, 0) % 250) + 1);
    expect(d!.turns).toBe(1);
  });

  it('fills every slot of a 251-slot table almost evenly', () => {
    const state = mhPopulate(servers, { tableIndex: 8 });
    expect(state.size).toBe(251);
    expect(state.lookup.every((i) => i >= 0)).toBe(true);
    const counts = [0, 1, 2].map((i) => state.lookup.filter((x) => x === i).length);
    // The servers take turns one slot at a time, so the shares differ by at most one.
    expect(counts.reduce((a, b) => a + b)).toBe(251);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('gives weights 2:1:1 shares in the same ratio, and uses the 4093-slot default table', () => {
    const weighted = [srv('10.244.0.1', { weight: 2 }), srv('10.244.0.2'), srv('10.244.0.3')];
    const state = mhPopulate(weighted);
    expect(state.size).toBe(MH_PRIMES[4]);
    const counts = [0, 1, 2].map((i) => state.lookup.filter((x) => x === i).length);
    expect(Math.abs(counts[0]! - 2 * counts[1]!)).toBeLessThanOrEqual(2);
  });

  it('looks the client up by hsiphash(addr) mod size, and is stable when an unrelated server goes', () => {
    const state = mhPopulate(servers, { tableIndex: 8 });
    const p = pkt('10.0.0.7');
    const slot = mhHashKey(p.src, 0, 1, 0) % 251;
    const pick = mhPick(state, servers, p, NO_SCHED_FLAGS);
    expect(pick.server).toBe(state.lookup[slot]);
    expect(pick.reason).toBe(`mh: source 10.0.0.7 -> slot ${slot}/251 -> ${serverName(servers[state.lookup[slot]!]!)}`);
    // Consistent hashing: most slots keep their server when another server leaves.
    const fewer = servers.filter((_, i) => i !== 2);
    const after = mhPopulate(fewer, { tableIndex: 8 });
    const kept = state.lookup.filter((s, i) => s !== 2 && fewer[after.lookup[i]!] === servers[s]).length;
    expect(kept / state.lookup.filter((s) => s !== 2).length).toBeGreaterThan(0.8);
  });

  it('keeps a quiesced server (weight 0, last weight 1) in the table but picks nobody for it', () => {
    const quiesced = [srv('10.244.0.1', { weight: 0, lastWeight: 1 }), srv('10.244.0.2'), srv('10.244.0.3')];
    const state = mhPopulate(quiesced, { tableIndex: 8 });
    const slot = state.lookup.indexOf(0);
    expect(slot).toBeGreaterThanOrEqual(0);
  });
});
