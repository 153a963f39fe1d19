// Public surface of the IPVS model: virtual services and real servers, the kernel's schedulers,
// the connection table with persistence templates, and the `ipvsadm -Ln` / `-S -n` formats.

export type { AddrPort } from './addr-port';
export { compareServers, compareServices, formatAddrPort, parseAddrPort } from './addr-port';
export type { Direction, TcpFlagBits, TcpState } from './connection-states';
export {
  isActiveState,
  NEW_CONN_TIMEOUT,
  nextState,
  nextTcpState,
  SCTP_TIMEOUTS,
  TCP_TIMEOUTS,
  TEMPLATE_RECHECK,
  UDP_TIMEOUT,
} from './connection-states';
export type { Connection, ConnectionTable } from './connection-table';
export { describeConnection, expireConnections } from './connection-table';
export { DH_TAB_SIZE, dhBuckets, dhHashKey, dhPick } from './dh-scheduler';
export { foPick } from './fo-scheduler';
export type { IpvsCommandError, IpvsConfig, IpvsStats, IpvsTable, LookupFields, ServiceEntry } from './ipvs-table';
export {
  addServer,
  addService,
  cloneIpvsTable,
  createIpvsTable,
  DEFAULT_IPVS_CONFIG,
  deleteServer,
  deleteService,
  editServer,
  editService,
  ipvsLookup,
  listServices,
  serviceBucket,
} from './ipvs-table';
export {
  formatIpvsadmList,
  formatIpvsTableList,
  formatServiceLine,
  IPVS_VERSION,
  parseIpvsadmList,
} from './ipvsadm-list';
export {
  applyIpvsadmCommands,
  formatAddServerLine,
  formatAddServiceLine,
  formatIpvsadmSave,
  formatIpvsTableSave,
  parseIpvsadmSave,
} from './ipvsadm-save';
export { type LblcState, lblcPick } from './lblc-scheduler';
export { lcPick } from './lc-scheduler';
export type { MhConfig, MhDestSetup, MhState } from './mh-scheduler';
export {
  DEFAULT_MH_TAB_INDEX,
  MH_PRIMES,
  mhDestSetup,
  mhHashKey,
  mhPick,
  mhPopulate,
  mhTableSize,
} from './mh-scheduler';
export { nqPick } from './nq-scheduler';
export { ovfPick } from './ovf-scheduler';
export type { IpvsParseError, Result } from './result';
export type { RrState } from './rr-scheduler';
export { rrPick, rrUpdate } from './rr-scheduler';
export { formatSchedFlags, parseSchedFlags } from './sched-flags';
export type { IpvsPacket, ScheduleResult } from './schedule';
export { expireIpvs, ipvsReply, schedule } from './schedule';
export type { Pick, SchedFlags, SchedPacket, Scheduler } from './scheduler';
export { NO_SCHED_FLAGS } from './scheduler';
export type { SchedulerConfig, SchedulerState } from './scheduler-registry';
export { DEFAULT_SCHEDULER_CONFIG, initSchedulerState, pickServer, updateSchedulerState } from './scheduler-registry';
export { sedPick } from './sed-scheduler';
export type { HashTableState } from './sh-scheduler';
export { SH_TAB_SIZE, shBuckets, shHashKey, shPick } from './sh-scheduler';
export { hsiphash, hsiphashU32, siphash } from './siphash';
export type { StatelessState } from './stateless-state';
export type {
  ForwardMethod,
  IpvsProtocol,
  ModelledScheduler,
  RealServer,
  RealServerSpec,
  SchedulerName,
  ServiceFlags,
  VirtualService,
  VirtualServiceSpec,
} from './virtual-server';
export {
  connOverhead,
  DEFAULT_PERSISTENT_TIMEOUT,
  DEFAULT_SCHEDULER,
  FULL_NETMASK,
  isAvailable,
  isModelledScheduler,
  isSchedulerName,
  KERNEL_SCHEDULERS,
  MAX_PERSISTENT_TIMEOUT,
  MODELLED_SCHEDULERS,
  makeRealServer,
  makeVirtualService,
  NO_FLAGS,
  serverName,
  serviceKey,
} from './virtual-server';
export { wlcPick } from './wlc-scheduler';
export type { WrrState } from './wrr-scheduler';
export { wrrInit, wrrPick, wrrUpdate } from './wrr-scheduler';
