// The state of the schedulers that keep none (lc, wlc, sed, nq): they look only at the servers'
// connection counters, so the same counters always give the same pick.

export interface StatelessState {
  readonly kind: 'stateless';
}

export const STATELESS: StatelessState = { kind: 'stateless' };
