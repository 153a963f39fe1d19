import { describe, expect, it } from 'vitest';
import { ecnEncapsulated } from '../../src/net';

describe("the VXLAN outer header's TOS byte (flannel.1 sets no TOS of its own)", () => {
  it('carries the inner ECN bits and no DSCP; a congestion mark (CE) goes out as ECT(0)', () => {
    // INET_ECN_encapsulate(0, inner): Not-ECT 0, ECT(1) 1, ECT(0) 2, CE 3 -> ECT(0).
    expect([0x00, 0xb9, 0xba, 0xbb, 0x10].map(ecnEncapsulated)).toEqual([0, 1, 2, 2, 0]);
  });
});
