/**
 * Writing files so that nothing is lost and no reader sees half a file. Every file the library and
 * its scripts write goes through {@link writeFileAtomic}; callers decide beforehand whether a file
 * already at the path is theirs to replace (a marker inside it), so that a write never replaces what
 * it did not create.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { describe } from './describe';

/**
 * Make `dir`'s entries (a rename, a new or removed file) durable. Best effort: some platforms
 * (Windows) cannot open a folder for fsync, and there the rename is as durable as the OS makes it.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without directory fsync
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Write `data` to `file` atomically: into a temporary file in the same folder (so the rename never
 * crosses file systems), fsync'd, then renamed over `file`, then the folder fsync'd. A reader sees
 * the old content or the new one, never a mix; a crash leaves the old file (and at worst a hidden
 * `.name.<pid>-<random>.tmp` beside it). The folder must exist. A folder at `file` is an error.
 *
 * Follows the POSIX write-fsync-rename pattern (as in `write-file-atomic`, used by npm).
 *
 * @param file  the path to write
 * @param data  the content: text (written as UTF-8) or bytes
 * @throws when the folder is missing, `file` is a folder, or the write fails (the temporary file is removed)
 * @example
 * ```ts
 * writeFileAtomic('results/grades.json', JSON.stringify(report));
 * ```
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`writeFileAtomic: file must be a path; got ${describe(file)}`);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`writeFileAtomic: data must be a string or a Uint8Array/Buffer; got ${data === null ? 'null' : typeof data}`);
  }
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new Error(`writeFileAtomic: the folder ${dir} does not exist (writing ${file})`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`writeFileAtomic: ${file} is a folder, not a file; it is not replaced`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');  // wx: never reuse a file that is already there
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) { try { fs.closeSync(fd); } catch { /* already failing */ } }
    try { fs.unlinkSync(tmp); } catch { /* not created, or already renamed */ }
    throw e;
  }
  fsyncDir(dir);
}
