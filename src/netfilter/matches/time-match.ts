// -m time: the wall-clock time the packet is seen at (xt_time): a date range, a time
// of day (a window past midnight when the start is later than the stop, --contiguous
// then taking its early hours as the day before's), weekdays and days of the month,
// all in UTC (--kerneltz: the kernel's time zone, which knetsim takes to be UTC too).
// The clock is the trace's (`trace --at`), the current time by default.
import { type MatchExtension, optionOf, type ParsedOption } from '../extension';
import { parseCNumber } from '../values';

const DAY = 86400;
/** The kernel keeps dates as 32-bit seconds: the latest is 2038-01-19T03:14:07. */
const LAST_DATE = 0x7fffffff;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const ALL_WEEKDAYS = 0xfe;
const ALL_MONTHDAYS = 0xfffffffe;

export interface TimeSpec {
  readonly dateStart: number;
  readonly dateStop: number;
  readonly dayStart: number;
  readonly dayStop: number;
  /** Bit d (1 Monday ... 7 Sunday) set for each day that matches. */
  readonly weekdays: number;
  /** Bit d (1-31) set for each day of the month that matches. */
  readonly monthdays: number;
  readonly kernelTz: boolean;
  readonly contiguous: boolean;
}

/** "hh:mm[:ss]" as seconds into the day (each part as strtoul reads it: "009" is 9); null when bad. */
function dayTime(text: string): number | null {
  const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(text);
  if (!m) return null;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return h > 23 || min > 59 || s > 59 ? null : h * 3600 + min * 60 + s;
}

/**
 * "YYYY[-MM[-DD[Thh[:mm[:ss]]]]]" (UTC) as seconds since 1970, as libxt_time's time_parse_date reads
 * it: a year of 1970 to 2038, each other part at most 12, 31, 23, 59, 59 (an empty part is 0), then
 * normalised as timegm does (month 0 is December before, day 0 the month's eve); null when bad.
 */
function date(text: string): number | null {
  const m = /^(\d+)(?:-(\d*)(?:-(\d*)(?:T(\d*)(?::(\d*)(?::(\d*))?)?)?)?)?$/.exec(text);
  if (!m) return null;
  const part = (i: number, fallback: number) => (m[i] === undefined ? fallback : Number(m[i] || 0));
  const [y, mo, d, h, mi, s] = [part(1, 0), part(2, 1), part(3, 1), part(4, 0), part(5, 0), part(6, 0)];
  if (y < 1970 || y > 2038 || mo > 12 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  // The kernel keeps it in 32 bits.
  return seconds >= 0 && seconds <= 0xffffffff ? seconds : null;
}

export function timeSpec(options: readonly ParsedOption[]): TimeSpec | string {
  let dayStart = 0;
  let dayStop = DAY - 1;
  for (const name of ['--timestart', '--timestop']) {
    const o = optionOf(options, name);
    if (!o) continue;
    const t = dayTime(o.args[0] ?? '');
    if (t === null)
      return `invalid time "${o.args[0]}" specified, should be hh:mm[:ss] format and within the boundaries`;
    if (name === '--timestart') dayStart = t;
    else dayStop = t;
  }
  let dateStart = 0;
  let dateStop = LAST_DATE;
  for (const name of ['--datestart', '--datestop']) {
    const o = optionOf(options, name);
    if (!o) continue;
    const d = date(o.args[0] ?? '');
    if (d === null) return `Invalid date "${o.args[0]}" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`;
    if (name === '--datestart') dateStart = d;
    else dateStop = d;
  }
  let weekdays = ALL_WEEKDAYS;
  const w = optionOf(options, '--weekdays');
  if (w) {
    weekdays = 0;
    for (const day of (w.args[0] ?? '').split(',')) {
      // A number past 7 names no day (iptables takes it, and it matches nothing); a name is known by its
      // first two letters ("Mo", "Monday").
      // A number is read as strtoul base 0 reads it ("0x3" is Wednesday, "08" none).
      const number = /^\d/.test(day);
      const n = number
        ? (parseCNumber(day, 0xffffffff) ?? -1)
        : WEEKDAYS.findIndex((name) => day.length >= 2 && name.startsWith(day.slice(0, 2))) + 1;
      if (n === 0 && number) return 'No, the week does NOT begin with Sunday.';
      if (n <= 0) return `${day} is not a valid day specifier`;
      if (n <= 7) weekdays |= 1 << n;
    }
    // libxt_time flips the bits of every day.
    if (w.negated) weekdays ^= ALL_WEEKDAYS;
  }
  let monthdays = ALL_MONTHDAYS;
  const md = optionOf(options, '--monthdays');
  if (md) {
    monthdays = 0;
    for (const day of (md.args[0] ?? '').split(',')) {
      // Day 0 is taken, and no day of a month is it; the number as strtoul base 0 reads it ("08" is none).
      const n = parseCNumber(day, 31);
      if (n === null) return `${day} is not a valid day for --monthdays`;
      monthdays = (monthdays | (1 << n)) >>> 0;
    }
    if (md.negated) monthdays = (monthdays ^ ALL_MONTHDAYS) >>> 0;
  }
  if (optionOf(options, '--utc') && (optionOf(options, '--kerneltz') || optionOf(options, '--localtz')))
    return 'option "--utc" cannot be used together with "--kerneltz".';
  const contiguous = optionOf(options, '--contiguous') !== undefined;
  if (contiguous && dayStart < dayStop) return '--contiguous only makes sense when stoptime is smaller than starttime';
  return {
    dateStart,
    dateStop,
    dayStart,
    dayStop,
    weekdays,
    monthdays,
    // --localtz is the old name of --kerneltz; --utc is the default.
    kernelTz: optionOf(options, '--kerneltz') !== undefined || optionOf(options, '--localtz') !== undefined,
    contiguous,
  };
}

/** Whether a moment (seconds since 1970, UTC) is one the rule matches, as xt_time's time_mt decides. */
export function timeMatches(spec: TimeSpec, at: number): boolean {
  let stamp = at;
  if (stamp < spec.dateStart || stamp > spec.dateStop) return false;
  const time = ((stamp % DAY) + DAY) % DAY;
  if (spec.dayStart < spec.dayStop) {
    if (time < spec.dayStart || time > spec.dayStop) return false;
  } else {
    if (time < spec.dayStart && time > spec.dayStop) return false;
    // The hours after midnight belong to the day the window began.
    if (spec.contiguous && time <= spec.dayStop) stamp -= DAY;
  }
  const days = Math.floor(stamp / DAY);
  // 1970-01-01 was a Thursday (4, with Monday 1).
  const weekday = ((days + 3) % 7) + 1;
  if ((spec.weekdays & (1 << weekday)) === 0) return false;
  if (spec.monthdays !== ALL_MONTHDAYS) {
    const monthday = new Date(stamp * 1000).getUTCDate();
    if ((spec.monthdays & (1 << monthday)) === 0) return false;
  }
  return true;
}

export const timeMatch: MatchExtension = {
  name: 'time',
  options: [
    { name: '--datestart', args: 1 },
    { name: '--datestop', args: 1 },
    { name: '--timestart', args: 1 },
    { name: '--timestop', args: 1 },
    { name: '--monthdays', args: 1, negatable: true },
    { name: '--weekdays', args: 1, negatable: true },
    { name: '--kerneltz', args: 0 },
    { name: '--localtz', args: 0 },
    { name: '--utc', args: 0 },
    { name: '--contiguous', args: 0 },
  ],
  compile(options) {
    const spec = timeSpec(options);
    if (typeof spec === 'string') return spec;
    return { test: (_p, env) => timeMatches(spec, env.clock ?? Math.floor(Date.now() / 1000)) };
  },
};

const two = (n: number) => String(n).padStart(2, '0');

function dateText(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** The match as libxt_time prints it. */
export function timeText(spec: TimeSpec): string {
  const clock = (t: number) => `${two(Math.floor(t / 3600))}:${two(Math.floor(t / 60) % 60)}:${two(t % 60)}`;
  let out = '';
  if (spec.dayStart !== 0 || spec.dayStop !== DAY - 1)
    out += ` --timestart ${clock(spec.dayStart)} --timestop ${clock(spec.dayStop)}`;
  if (spec.monthdays !== ALL_MONTHDAYS) {
    const days: number[] = [];
    for (let d = 1; d <= 31; d++) if (spec.monthdays & (1 << d)) days.push(d);
    out += ` --monthdays ${days.join(',')}`;
  }
  if (spec.weekdays !== ALL_WEEKDAYS)
    out += ` --weekdays ${WEEKDAYS.filter((_, i) => spec.weekdays & (1 << (i + 1))).join(',')}`;
  if (spec.dateStart !== 0) out += ` --datestart ${dateText(spec.dateStart)}`;
  out += ` --datestop ${dateText(spec.dateStop)}`;
  if (spec.kernelTz) out += ' --kerneltz';
  if (spec.contiguous) out += ' --contiguous';
  return out;
}
