// The parsed form of an nft rule: expressions (what a packet is looked at through)
// and statements (matches, look-ups, verdicts, NAT, marks), as plain data.

export type Expr =
  | {
      readonly kind: 'payload';
      readonly proto: 'ip' | 'th' | 'tcp' | 'udp' | 'sctp' | 'ip6' | 'icmp' | 'icmpv6';
      readonly field: string;
    }
  | { readonly kind: 'meta'; readonly key: string }
  /**
   * `fib saddr|daddr [. mark] [. iif|. oif] type|oif|oifname`: a route look-up for the address (with
   * the packet's mark, limited to its device in or out) answering the address's type or the device
   * the route leaves by.
   */
  | {
      readonly kind: 'fib';
      readonly flag: 'saddr' | 'daddr';
      readonly result: 'type' | 'oif' | 'oifname';
      readonly mark?: true;
      readonly iif?: true;
      readonly oif?: true;
    }
  | { readonly kind: 'ct'; readonly key: 'state' | 'status' | 'mark' | 'direction' | 'zone' | 'helper' }
  | { readonly kind: 'numgen'; readonly mode: 'random' | 'inc'; readonly mod: number; readonly offset: number }
  /**
   * `jhash EXPR mod N [seed S] [offset O]`, `symhash mod N [offset O]`: a hash of packet fields (jhash
   * under a seed the kernel draws when the rule is made unless one is given), modulo N.
   */
  | {
      readonly kind: 'hash';
      readonly mode: 'jhash' | 'symhash';
      readonly input: Expr | null;
      readonly mod: number;
      readonly seed: string | null;
      readonly offset: number;
    }
  | { readonly kind: 'concat'; readonly parts: readonly Expr[] }
  /** `mark and 0x4000`: a bitwise operation on an expression, the constant as written. */
  | { readonly kind: 'bitwise'; readonly op: 'and' | 'or' | 'xor'; readonly left: Expr; readonly value: string };

/** One element of a set or map: its key (one value per concatenated part) and, in a map, its data. */
export interface NftElement {
  readonly key: readonly string[];
  readonly value?: string;
  readonly comment?: string;
  readonly timeout?: string;
}

export type SetRef =
  | { readonly kind: 'named'; readonly name: string }
  | { readonly kind: 'anonymous'; readonly elements: readonly NftElement[] };

export type Stmt =
  | {
      readonly kind: 'match';
      readonly left: Expr;
      readonly op: CompareOp;
      readonly right: string;
      /** No operator was written: on a bitmask (tcp flags) that tests any of the bits (`tcp flags syn`). */
      readonly implicit?: true;
    }
  | { readonly kind: 'lookup'; readonly left: Expr; readonly op: '==' | '!='; readonly set: SetRef }
  | { readonly kind: 'vmap'; readonly key: Expr; readonly map: SetRef }
  | {
      readonly kind: 'verdict';
      readonly verdict: 'accept' | 'drop' | 'return' | 'continue' | 'jump' | 'goto';
      readonly chain?: string;
    }
  | { readonly kind: 'reject'; readonly with?: string }
  | { readonly kind: 'counter'; readonly packets?: number; readonly bytes?: number }
  /**
   * `dnat|snat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] [flags]`: `to` as written; the range read from it
   * (an ip6 statement has none: it acts on IPv6 packets only).
   */
  | {
      readonly kind: 'dnat' | 'snat';
      readonly to: string;
      readonly family?: 'ip' | 'ip6';
      readonly range: NatSpan | null;
      readonly flags: readonly string[];
      /**
       * `to KEY map MAP` (the address from the map) or `to ADDR : KEY map MAP` (the port from it, the
       * address fixed): the map is looked up with the packet's key (`range` is then null).
       */
      readonly map?: NatMap;
    }
  /** `masquerade|redirect [to :PORT[-PORT]] [flags]`. */
  | {
      readonly kind: 'masquerade' | 'redirect';
      readonly flags: readonly string[];
      readonly ports: { readonly min: number; readonly max: number } | null;
    }
  /** `mark set mark or 0x4000`, `meta mark set 0x1`, `ct mark set mark`. */
  | { readonly kind: 'mark-set'; readonly target: 'meta' | 'ct'; readonly value: Expr | string }
  /** `update @set { ip saddr }`: a dynamic set learns the packet's key (kube-proxy's affinity). */
  | { readonly kind: 'set-update'; readonly op: 'update' | 'add'; readonly set: string; readonly key: Expr }
  | { readonly kind: 'nftrace' }
  | { readonly kind: 'notrack' }
  /**
   * `ct helper set "NAME"` (or `ct helper set KEY map {...}`, a name by key): the table's ct helper object
   * attached to the connection the packet opens.
   */
  | {
      readonly kind: 'helper-set';
      readonly name: string | null;
      readonly map: { readonly key: Expr; readonly ref: SetRef } | null;
    }
  /** `ct zone set N`: the connection is looked up and kept in zone N (before conntrack has seen the packet). */
  | { readonly kind: 'zone-set'; readonly zone: number }
  /**
   * `queue [flags bypass,fanout] [to N[-M]]` (or the older `queue num N[-M] [bypass] [fanout]`): to a
   * userspace program's queue, whose verdict knetsim takes as accept.
   */
  | {
      readonly kind: 'queue';
      readonly first: number;
      readonly last: number;
      readonly flags: readonly string[];
    }
  | { readonly kind: 'log'; readonly prefix?: string; readonly options?: readonly string[] }
  /** `limit rate [over] RATE [burst N]`: the first packets fit a fresh bucket, so `over` is not met. */
  | { readonly kind: 'limit'; readonly over: boolean; readonly rate: string }
  /** A match or target iptables-nft could not translate (`xt match sctp`): listed, not modelled. */
  | { readonly kind: 'xt'; readonly what: 'match' | 'target'; readonly name: string };

/** A NAT statement's addresses (null: the packet's own) and ports (null: the packet's own). */
/** A NAT's address or port looked up in a map by a key the packet gives (`dnat to ip saddr map @m`). */
export interface NatMap {
  readonly key: Expr;
  readonly ref: SetRef;
  /** What the map's values are: the address (and maybe port) to NAT to, or the port (`address` fixed). */
  readonly part: 'address' | 'port';
  readonly address: string | null;
}

export interface NatSpan {
  readonly minAddress: number | null;
  readonly maxAddress: number | null;
  readonly minPort: number | null;
  readonly maxPort: number | null;
}

export type CompareOp = '==' | '!=' | '<' | '>' | '<=' | '>=';

export interface NftRuleBody {
  readonly stmts: readonly Stmt[];
  readonly comment?: string;
}
