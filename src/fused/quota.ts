/**
 * How many threads the fused kernels use by default, and why: `RNN_LAB_FUSED_THREADS`, else the
 * container's CPU quota (Linux cgroups), else one per core up to 8.
 *
 * A JupyterHub pod or Binder container typically gets 0.5–2 CPUs of a machine with many more cores;
 * `os.availableParallelism()` counts the cores the process may run on (its CPU affinity), not the CPU
 * time it may use, so threads beyond the quota only get the process throttled by the kernel's CFS
 * scheduler. Following the quota is what the JVM (`-XX:+UseContainerSupport`) and Go (uber-go/automaxprocs)
 * do. tf.js's own WASM backend threads are not touched here.
 *
 * The cgroup files are read under a root folder (default `/`), so tests point it at a fake tree.
 */

/** The environment variable that sets the fused kernels' thread count (an integer 1..64). */
export const FUSED_THREADS_ENV = 'RNN_LAB_FUSED_THREADS';
/** Most threads without the environment variable: past 8 the shards get too thin to pay for the summing. */
export const MAX_DEFAULT_THREADS = 8;
/** setFusedThreads' limit too. */
export const MAX_THREADS = 64;

/** A CPU quota found in the cgroup files: CPUs (quota / period) and where they came from. */
export interface CpuQuota {
  /** CPU time per wall-clock time, e.g. 1.5. */
  cpus: number;
  /** e.g. `cgroup v2 cpu.max 150000 100000 → 1.5 CPUs`. */
  reason: string;
}

/** A thread count and the one-line reason for it. */
export interface ThreadsChoice {
  threads: number;
  /** e.g. `RNN_LAB_FUSED_THREADS=2`, `cgroup v2 cpu.max 150000 100000 → 1.5 CPUs`, `availableParallelism 2`. */
  reason: string;
}

type Fs = typeof import('fs');
type PathMod = typeof import('path');

function nodeModules(): { fs: Fs; path: PathMod } | undefined {
  try {
    if (typeof process === 'undefined' || !process.versions?.node) return undefined;
    return { fs: require('fs') as Fs, path: require('path') as PathMod };
  } catch {
    return undefined;
  }
}

function readText(fs: Fs, file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The cgroup folder of `rel` under `mount` and each of its parents up to the mount (a parent's quota binds too). */
function levels(path: PathMod, mount: string, rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(path.join(mount, ...parts.slice(0, i)));
  return out;
}

const cpusText = (q: number) => `${Number(q.toFixed(3))} CPU${q === 1 ? '' : 's'}`;

/**
 * The CPU quota of this process's cgroup, or null when there is none ("max" / -1 at every level) or no
 * cgroup files (not Linux). cgroup v2: `cpu.max` ("max 100000" or "150000 100000") of the process's
 * cgroup (the `0::/path` line of /proc/self/cgroup, under the unified mount /sys/fs/cgroup) and of each
 * parent; cgroup v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` under the `cpu` controller's mount
 * (/sys/fs/cgroup/cpu or cpu,cpuacct) for the `cpu` line's path, and each parent. The lowest quota wins.
 * In a container with its own cgroup namespace the path is `/` and the mount's root holds the quota;
 * a path that does not exist under the mount (a host path seen from a container) is skipped, so its
 * nearest existing parent, at worst the mount's root, is read. A quota file that does not parse is an
 * error (naming the file and RNN_LAB_FUSED_THREADS, which is read first), never taken as "no quota".
 *
 * @param root the file-system root the files are read under (default `/`); tests give a fake tree.
 * @example cgroupCpuQuota()          // { cpus: 1.5, reason: 'cgroup v2 cpu.max 150000 100000 → 1.5 CPUs' } in a 1.5-CPU pod
 */
export function cgroupCpuQuota(root = '/'): CpuQuota | null {
  const m = nodeModules();
  if (!m) return null;
  const { fs, path } = m;
  const self = readText(fs, path.join(root, 'proc', 'self', 'cgroup'));
  if (self === undefined) return null;
  const lines = self.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3)
    .map(([id, ctrls, ...rest]) => ({ id, ctrls: ctrls.split(','), rel: rest.join(':') }));
  const base = path.join(root, 'sys', 'fs', 'cgroup');
  let best: CpuQuota | null = null;
  const consider = (q: CpuQuota) => { if (!best || q.cpus < best.cpus) best = q; };

  // v2: the unified hierarchy mounted at /sys/fs/cgroup (a hybrid system's /sys/fs/cgroup/unified
  // carries no cpu controller, so it is not read).
  const v2 = lines.find((l) => l.id === '0' && l.ctrls.length === 1 && l.ctrls[0] === '');
  if (v2 && fs.existsSync(path.join(base, 'cgroup.controllers'))) {
    for (const dir of levels(path, base, v2.rel)) {
      const text = readText(fs, path.join(dir, 'cpu.max'));
      if (text === undefined) continue;
      const [quota, period] = text.split(/\s+/);
      if (quota === 'max') continue;
      const q = Number(quota) / Number(period ?? 100000);
      if (!(Number.isFinite(q) && q > 0)) throw new Error(`cgroupCpuQuota: ${path.join(dir, 'cpu.max')} reads '${text}'; expected 'max PERIOD' or 'QUOTA PERIOD' (set ${FUSED_THREADS_ENV} to choose the thread count)`);
      consider({ cpus: q, reason: `cgroup v2 cpu.max ${quota} ${period ?? 100000} → ${cpusText(q)}` });
    }
  }
  // v1: the cpu controller's own hierarchy.
  const v1 = lines.find((l) => l.ctrls.includes('cpu'));
  if (v1) {
    const mounts = [v1.ctrls.join(','), 'cpu', 'cpu,cpuacct', 'cpuacct,cpu'].map((n) => path.join(base, n));
    const mount = mounts.find((d) => fs.existsSync(path.join(d, 'cpu.cfs_quota_us')));
    if (mount) {
      for (const dir of levels(path, mount, v1.rel)) {
        const quotaText = readText(fs, path.join(dir, 'cpu.cfs_quota_us'));
        const periodText = readText(fs, path.join(dir, 'cpu.cfs_period_us'));
        if (quotaText === undefined) continue;
        if (Number(quotaText) === -1) continue;
        const q = Number(quotaText) / Number(periodText);
        if (!(Number.isFinite(q) && q > 0)) {
          throw new Error(`cgroupCpuQuota: ${dir} has cpu.cfs_quota_us '${quotaText}' and cpu.cfs_period_us '${periodText}'; expected -1 or a positive quota over a positive period (set ${FUSED_THREADS_ENV} to choose the thread count)`);
        }
        consider({ cpus: q, reason: `cgroup v1 cpu.cfs_quota_us ${quotaText} / cpu.cfs_period_us ${periodText} → ${cpusText(q)}` });
      }
    }
  }
  return best;
}

/**
 * Parse `RNN_LAB_FUSED_THREADS`: undefined when unset or empty; an integer 1..64; anything else throws,
 * naming the variable and the value.
 */
export function threadsFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_THREADS)) {
    throw new RangeError(`${FUSED_THREADS_ENV} must be an integer from 1 to ${MAX_THREADS} (the fused kernels' threads, this one included); got '${value}'`);
  }
  return n;
}

/**
 * The default thread count from its three sources, in order: the environment variable, the CPU quota,
 * one per core up to 8.
 *
 * A quota of q CPUs gives max(1, floor(q)) threads: 1.5 CPUs → 1, not 2. A fused call is split into
 * shards that all must finish before it returns, and CFS throttles the whole cgroup once its quota of a
 * period is spent: two busy threads on 1.5 CPUs spend a 100 ms period's 150 ms in 75 ms and then stop
 * for 25 ms, every period, and the tf.js ops between fused calls, the garbage collector and the notebook
 * kernel's messages stop with them. The quota's fraction is left to that work (uber-go/automaxprocs
 * rounds down for the same reason). A quota above the cores does not add threads.
 *
 * @example fusedThreadsFrom({ env: undefined, quota: { cpus: 1.5, reason: '…' }, availableParallelism: 4 })   // { threads: 1, reason: '…' }
 */
export function fusedThreadsFrom(sources: { env: string | undefined; quota: CpuQuota | null; availableParallelism: number }): ThreadsChoice {
  const fromEnv = threadsFromEnv(sources.env);
  const ap = sources.availableParallelism;
  if (fromEnv !== undefined) {
    // Honoured as asked; but more threads than cores share them, and every call waits for its slowest shard.
    const over = Number.isInteger(ap) && fromEnv > ap ? ` (more than the ${ap} core${ap === 1 ? '' : 's'} here: threads share cores, and each call waits for the slowest)` : '';
    return { threads: fromEnv, reason: `${FUSED_THREADS_ENV}=${sources.env!.trim()}${over}` };
  }
  if (!(Number.isInteger(ap) && ap >= 1)) throw new RangeError(`fusedThreadsFrom: availableParallelism must be an integer ≥ 1; got ${ap}`);
  const cores = Math.min(MAX_DEFAULT_THREADS, ap);
  const coresReason = `availableParallelism ${ap}${ap > MAX_DEFAULT_THREADS ? `, at most ${MAX_DEFAULT_THREADS}` : ''}`;
  if (sources.quota) {
    const fromQuota = Math.max(1, Math.floor(sources.quota.cpus));
    if (fromQuota <= cores) return { threads: fromQuota, reason: sources.quota.reason };
    return { threads: cores, reason: `${coresReason} (under ${sources.quota.reason})` };
  }
  return { threads: cores, reason: coresReason };
}

/** The default for this process: its environment, its cgroup files under `root`, its cores. */
export function defaultFusedThreads(env: Record<string, string | undefined> = typeof process !== 'undefined' ? process.env : {}, root = '/'): ThreadsChoice {
  // The variable is checked first, so a bad value is an error even where no cgroup is read.
  const value = env[FUSED_THREADS_ENV];
  const fromEnv = threadsFromEnv(value);
  let ap = 1;
  let apNote = '';
  try {
    const os = require('os') as typeof import('os');
    ap = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } catch {
    apNote = ' (no os module: not Node.js)';
  }
  if (fromEnv !== undefined) return fusedThreadsFrom({ env: value, quota: null, availableParallelism: Math.max(1, ap) });
  const choice = fusedThreadsFrom({ env: undefined, quota: cgroupCpuQuota(root), availableParallelism: Math.max(1, ap) });
  return { threads: choice.threads, reason: choice.reason + apNote };
}
