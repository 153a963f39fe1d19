// Per-protocol connection states and timeouts as ip_vs_proto_tcp.c / _udp.c / _sctp.c keep them:
// the TCP state table (normal, not secure_tcp), and which states count as active connections.

import type { IpvsProtocol } from './virtual-server';

export type TcpState =
  | 'NONE'
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'SYNACK';

/** tcp_timeouts[], seconds. */
export const TCP_TIMEOUTS: Readonly<Record<TcpState, number>> = {
  NONE: 2,
  ESTABLISHED: 15 * 60,
  SYN_SENT: 2 * 60,
  SYN_RECV: 60,
  FIN_WAIT: 2 * 60,
  TIME_WAIT: 2 * 60,
  CLOSE: 10,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  LISTEN: 2 * 60,
  SYNACK: 120,
};

/** udp_timeouts[IP_VS_UDP_S_NORMAL]: every UDP connection lives 5 minutes after its last packet. */
export const UDP_TIMEOUT = 5 * 60;
/** sctp_timeouts[]: INIT1 (first INIT seen) and ESTABLISHED. */
export const SCTP_TIMEOUTS = { NONE: 2, INIT1: 4, ESTABLISHED: 15 * 60 } as const;
/** A connection's timer before its first state transition (ip_vs_conn_new sets 3*HZ). */
export const NEW_CONN_TIMEOUT = 3;
/** An expired template still controlling connections is re-armed for this long (ip_vs_conn_expire). */
export const TEMPLATE_RECHECK = 60;

const COLUMNS: readonly TcpState[] = [
  'NONE',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'SYNACK',
];

// The table's cell names; the normal (not secure_tcp) table never enters NONE or SYNACK.
const sES: TcpState = 'ESTABLISHED';
const sSS: TcpState = 'SYN_SENT';
const sSR: TcpState = 'SYN_RECV';
const sFW: TcpState = 'FIN_WAIT';
const sTW: TcpState = 'TIME_WAIT';
const sCL: TcpState = 'CLOSE';
const sCW: TcpState = 'CLOSE_WAIT';
const sLA: TcpState = 'LAST_ACK';
const sLI: TcpState = 'LISTEN';

/** tcp_states[]: rows syn, fin, ack, rst for each of INPUT, OUTPUT and INPUT-ONLY. */
const TCP_TABLE: Readonly<Record<'input' | 'output' | 'input-only', readonly (readonly TcpState[])[]>> = {
  input: [
    [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
    [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW],
    [sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
    [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR],
  ],
  output: [
    [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
    [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
    [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
    [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],
  ],
  'input-only': [
    [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
    [sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW],
    [sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
    [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL],
  ],
};

export interface TcpFlagBits {
  readonly syn: boolean;
  readonly ack: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
}

/** tcp_state_idx: rst wins over syn over fin over ack; a packet with none of them is -1. */
function tcpRow(flags: TcpFlagBits): number {
  if (flags.rst) return 3;
  if (flags.syn) return 0;
  if (flags.fin) return 1;
  if (flags.ack) return 2;
  return -1;
}

export type Direction = 'input' | 'output';

/**
 * set_tcp_state's next state. `noOutput` is IP_VS_CONN_F_NOOUTPUT (non-Masq forwarding, where
 * replies bypass the director): input packets then use the INPUT-ONLY rows.
 */
export function nextTcpState(state: TcpState, direction: Direction, flags: TcpFlagBits, noOutput: boolean): TcpState {
  const row = tcpRow(flags);
  if (row < 0) return 'CLOSE';
  const table = direction === 'output' ? 'output' : noOutput ? 'input-only' : 'input';
  return TCP_TABLE[table][row]![COLUMNS.indexOf(state)]!;
}

/** The state and timeout after one packet, for any protocol (SCTP is approximated: see nextState). */
export function nextState(
  protocol: IpvsProtocol,
  state: string,
  direction: Direction,
  flags: TcpFlagBits | null,
  noOutput: boolean,
): { state: string; timeout: number } {
  switch (protocol) {
    case 'tcp': {
      const next = nextTcpState(
        state as TcpState,
        direction,
        flags ?? { syn: false, ack: false, fin: false, rst: false },
        noOutput,
      );
      return { state: next, timeout: TCP_TIMEOUTS[next] };
    }
    case 'udp':
      return { state: 'UDP', timeout: UDP_TIMEOUT };
    case 'sctp':
      // Packets carry no SCTP chunk types here: the first one is taken as the INIT, any later
      // one as the handshake having completed.
      return state === 'NONE'
        ? { state: 'INIT1', timeout: SCTP_TIMEOUTS.INIT1 }
        : { state: 'ESTABLISHED', timeout: SCTP_TIMEOUTS.ESTABLISHED };
  }
}

/** Only ESTABLISHED TCP and SCTP connections count in ActiveConn; everything else (all UDP) is InActConn. */
export function isActiveState(protocol: IpvsProtocol, state: string): boolean {
  return protocol !== 'udp' && state === 'ESTABLISHED';
}
