// What else the machine is doing while the systems are measured (Linux /proc; elsewhere nothing is
// measured and nothing is waited for). A system measured while another process fsyncs or computes
// is slower for reasons of its own, so the runner waits for a quiet machine before each system
// and reports what the others used during each run.
import { existsSync, readdirSync, readFileSync } from "node:fs";

const linux = existsSync("/proc/stat") && existsSync("/proc/diskstats");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Jiffies: busy and total of all CPUs. */
function cpu() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}

/** Milliseconds spent doing I/O, summed over the whole disks (not partitions, loop or ram devices). */
function diskMs() {
  let ms = 0;
  for (const line of readFileSync("/proc/diskstats", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || /^(loop|ram|zram|dm-|sr)/.test(f[2]) || /^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^nvme\d+n\d+p\d+$/.test(f[2]))
      continue;
    ms += Number(f[12]);
  }
  return ms;
}

/** CPU jiffies of `root` and all its descendants, those that ended included. */
function treeJiffies(root) {
  const parent = new Map();
  const jiffies = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(f[1]));
      // utime + stime, plus cutime + cstime: the children it has reaped (PostgreSQL backends that ended)
      jiffies.set(Number(name), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      // the process ended while we looked
    }
  }
  let sum = 0;
  for (const [pid, j] of jiffies) {
    let p = pid;
    for (let hops = 0; p > 1 && hops < 64; hops += 1) {
      if (p === root) {
        sum += j;
        break;
      }
      p = parent.get(p) ?? 0;
    }
  }
  return sum;
}

/** Share of the machine's CPU (0..1) busy and of the disks' time (0..1) doing I/O over one second. */
async function sample() {
  const c0 = cpu();
  const d0 = diskMs();
  await sleep(1000);
  const c1 = cpu();
  const d1 = diskMs();
  return { cpu: (c1.busy - c0.busy) / Math.max(1, c1.total - c0.total), disk: Math.min(1, (d1 - d0) / 1000) };
}

/**
 * Waits until, over one second, the CPU is busy less than `cpuBelow` and the disks less than
 * `diskBelow`, or `maxSeconds` passed. Returns the last sample.
 */
export async function waitForQuiet({ cpuBelow, diskBelow, maxSeconds }) {
  if (!linux) return { cpu: NaN, disk: NaN };
  const deadline = Date.now() + maxSeconds * 1000;
  let s = await sample();
  while ((s.cpu >= cpuBelow || s.disk >= diskBelow) && Date.now() < deadline) s = await sample();
  return s;
}

/**
 * Watches the machine while process `pid` (and what it starts: its PostgreSQL) runs; `stop()` returns
 * the share of the machine's CPU that other processes used meanwhile, and the disks' busy share
 * (ours included: it cannot be told apart).
 */
export function watch(pid) {
  if (!linux) return { stop: () => ({ othersCpu: NaN, disk: NaN }) };
  const cores =
    readFileSync("/proc/stat", "utf8")
      .split("\n")
      .filter((l) => /^cpu\d/.test(l)).length || 1;
  const start = { cpu: cpu(), disk: diskMs(), ours: 0, at: Date.now() };
  let ours = 0;
  const timer = setInterval(() => {
    try {
      ours = Math.max(ours, treeJiffies(pid)); // the tree's jiffies only grow while it lives
    } catch {
      // /proc unreadable for a moment
    }
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      const end = { cpu: cpu(), disk: diskMs(), at: Date.now() };
      const total = end.cpu.total - start.cpu.total;
      const busy = end.cpu.busy - start.cpu.busy;
      // all jiffies are counted per CPU: `total` covers every core
      return {
        othersCpu: Math.max(0, (busy - ours) / Math.max(1, total)),
        disk: Math.min(1, (end.disk - start.disk) / Math.max(1, end.at - start.at)),
        cores,
      };
    },
  };
}
