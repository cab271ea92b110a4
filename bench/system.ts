// What the bench needs from the operating system: the network namespace it runs in, /proc readings
// (CPU time, RSS, whole-machine load) and small command helpers. Linux only.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { setUpNamespace } from '../test/namespace.js';

/** Addresses of the veth pair inside the bench namespace: servers gather on sbb0, load clients use sbb1. */
export const SERVER_IP = '10.77.0.1';
export const CLIENT_IP = '10.77.0.2';
/** Interface names must not start with "veth": werift skips such interfaces when gathering. */
export const SERVER_IF = 'sbb0';
export const CLIENT_IF = 'sbb1';
export const NAMESPACE_PREFIX = 'sbbench-';

const ip = (...a: string[]) => spawnSync('ip', a, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Creates namespace `ns` with lo and the sbb0/sbb1 veth pair up; returns an error text on failure.
 * `defaultRoute`: a default route over sbb1, so that browsers find a default local address (WebRTC
 * looks one up by routing toward a public address) as on a host with a network; nothing leaves the
 * namespace, both ends of the pair are in it.
 */
export function createNamespace(
  ns: string,
  loadCpu: number,
  { defaultRoute = false }: { defaultRoute?: boolean } = {},
): string | undefined {
  const failed = setUpNamespace(ns, [
    [SERVER_IF, SERVER_IP],
    [CLIENT_IF, CLIENT_IP],
  ]);
  if (failed !== undefined) {
    return failed;
  }
  if (defaultRoute) {
    const r = ip('-n', ns, 'route', 'add', 'default', 'dev', CLIENT_IF);
    if (r.status !== 0) {
      return `default route in ${ns}: ${(r.stderr || r.error?.message || '').trim()}`;
    }
  }
  // libnice (Janus) sends out of the candidate's interface: its packets to 10.77.0.2 leave sbb0 and
  // arrive on sbb1 with a local source address, which the kernel drops as martian unless
  // accept_local is on. (Per-namespace settings: the host's are untouched.)
  const conf = '/proc/sys/net/ipv4/conf';
  const script = ['all', 'default', SERVER_IF, CLIENT_IF]
    .map((i) => `echo 1 > ${conf}/${i}/accept_local && echo 0 > ${conf}/${i}/rp_filter`)
    .join(' && ');
  const r = ip('netns', 'exec', ns, 'sh', '-c', script);
  if (r.status !== 0) {
    return `accept_local in ${ns}: ${(r.stderr || r.error?.message || '').trim()}`;
  }
  // Receive packet steering to the load core: a datagram's receive side (IP/UDP input, queueing on
  // the client's socket, waking the client) runs there, as it would on the clients' own machines.
  // Without it the kernel does that work inside the sender's send call, and on this VM waking the
  // receiver dominates a send (perf: ~30 % of the server's CPU in sock_def_readable). Switchboard's
  // and the clients' packets take `lo` (local addresses), libnice's leave through sbb0 to sbb1; each
  // server's own ingress is steered the same way, so both are measured alike. Per-namespace sysfs.
  const mask = (1 << loadCpu).toString(16);
  const rps = ['lo', SERVER_IF, CLIENT_IF]
    .map((i) => `echo ${mask} > /sys/class/net/${i}/queues/rx-0/rps_cpus`)
    .join(' && ');
  const q = ip('netns', 'exec', ns, 'sh', '-c', rps);
  if (q.status !== 0) {
    return `rps_cpus in ${ns}: ${(q.stderr || q.error?.message || '').trim()}`;
  }
  return undefined;
}

export function deleteNamespace(ns: string): void {
  ip('netns', 'delete', ns);
}

/** PIDs of the processes still running inside namespace `ns` (all of them started by this bench). */
export function namespacePids(ns: string): number[] {
  const r = ip('netns', 'pids', ns);
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces left by bench runs that died without cleaning up (their PID suffix is gone). */
export function staleNamespaces(): string[] {
  const r = ip('netns', 'list');
  if (r.status !== 0) {
    return [];
  }
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NAMESPACE_PREFIX))
    .filter((n) => !isAlive(Number(n.slice(NAMESPACE_PREFIX.length))));
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process (all its threads), in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes; undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies per CPU ("cpu0", "cpu1", …) and for the whole machine ("cpu"). */
export type CpuTimes = Record<string, { busy: number; total: number }>;

export function cpuTimes(): CpuTimes {
  const out: CpuTimes = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!line.startsWith('cpu')) {
      continue;
    }
    const [name, ...v] = line.split(/\s+/);
    const n = v.filter(Boolean).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    out[name!] = { busy: total - idle, total };
  }
  return out;
}

/** Busy share (0..1) of `cpu` between two readings. */
export function busyShare(a: CpuTimes, b: CpuTimes, cpu: string): number {
  const x = a[cpu];
  const y = b[cpu];
  if (!x || !y || y.total <= x.total) {
    return 0;
  }
  return (y.busy - x.busy) / (y.total - x.total);
}

export function onlineCpus(): number {
  return Object.keys(cpuTimes()).filter((k) => /^cpu\d+$/.test(k)).length;
}

/**
 * Datagrams the kernel dropped at full receive buffers, per socket (/proc/net/udp{,6} of this network
 * namespace): those of `pid`'s sockets, and of every other socket (the load clients).
 */
export function udpDrops(pid: number): { server: number; others: number } {
  const own = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) {
          own.add(m[1]!);
        }
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // the server is gone
  }
  const out = { server: 0, others: 0 };
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) {
        continue;
      }
      const drops = Number(f[f.length - 1]);
      if (own.has(f[9]!)) {
        out.server += drops;
      } else {
        out.others += drops;
      }
    }
  }
  return out;
}

const BACKLOG_SYSCTL = '/proc/sys/net/core/netdev_max_backlog';

/**
 * Raises the per-CPU input backlog (a host-wide setting; there is none per namespace) to at least `n`
 * and returns what restores it. With receive steering all the clients' packets queue on the load core:
 * one fan-out to N subscribers puts N packets there at once (a frame: 5 N), and the default 1000 drops
 * them from N ≈ 200 on, which would count as the server's loss. Clients on their own machines have a
 * backlog each.
 */
export function raiseBacklog(n: number): () => void {
  let old: string;
  try {
    old = readFileSync(BACKLOG_SYSCTL, 'utf8').trim();
    if (Number(old) >= n) {
      return () => undefined;
    }
    writeFileSync(BACKLOG_SYSCTL, String(n));
  } catch {
    return () => undefined;
  }
  return () => {
    try {
      writeFileSync(BACKLOG_SYSCTL, old);
    } catch {
      // nothing more to do
    }
  };
}

/**
 * `--idle-poll`: asks the kernel (PM QoS, /dev/cpu_dma_latency = 0 while the file stays open) to
 * poll instead of halting when a core idles. Receive steering hands each datagram a server sends to
 * the load core with an inter-processor interrupt unless that core is polling; in a VM the IPI is a
 * trapped MSR write, about a fifth of the server core at 150 subscribers (perf: native_write_msr
 * under net_rps_send_ipi), a cost a server sending to a NIC does not have. Host-wide; the
 * constraint ends when the returned function closes the file or the bench process dies.
 * Returns an error message instead when the device cannot be opened.
 */
export function holdIdlePoll(): (() => void) | string {
  let fd: number;
  try {
    fd = openSync('/dev/cpu_dma_latency', 'w');
  } catch (err) {
    return (err as Error).message;
  }
  try {
    writeSync(fd, Buffer.from([0, 0, 0, 0])); // a binary s32: 0 µs of wake-up latency allowed
  } catch (err) {
    closeSync(fd);
    return (err as Error).message;
  }
  return () => {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  };
}

/** Packets dropped at CPU `cpu`'s full input backlog so far (/proc/net/softnet_stat, host-wide). */
export function backlogDrops(cpu: number): number {
  try {
    const rows = readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n');
    for (const [i, row] of rows.entries()) {
      const f = row.trim().split(/\s+/);
      // Column 13 is the CPU's number on kernels since 5.10; before, rows are online CPUs in order.
      const id = f.length >= 13 ? parseInt(f[12]!, 16) : i;
      if (id === cpu) {
        return parseInt(f[1]!, 16);
      }
    }
  } catch {
    // not Linux
  }
  return 0;
}
