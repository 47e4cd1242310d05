// A FileStore over a directory of the real file system, for the HTTP app when it runs
// on a TAP device or a node:net socket. Read-only; refuses anything whose real path
// (after symlinks) lies outside the root. Reads are synchronous and chunk-sized.
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { FileStat, FileStore } from '../apps/http/file-store.js';

export class FsFileStore implements FileStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = realpathSync(root);
    if (!statSync(this.root).isDirectory()) throw new Error(`${root}: not a directory`);
  }

  private resolve(path: string): string | undefined {
    if (path.includes('\0')) return undefined;
    try {
      const real = realpathSync(join(this.root, path));
      return real === this.root || real.startsWith(this.root + sep) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  stat(path: string): FileStat | undefined {
    const real = this.resolve(path);
    if (real === undefined) return undefined;
    try {
      const st = statSync(real);
      if (st.isDirectory()) return { kind: 'dir' };
      if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs };
    } catch { /* vanished: not found */ }
    return undefined;
  }

  read(path: string, offset: number, length: number): Uint8Array {
    const real = this.resolve(path);
    if (real === undefined) return new Uint8Array(0);
    let fd: number;
    try { fd = openSync(real, 'r'); } catch { return new Uint8Array(0); }
    try {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    } catch {
      return new Uint8Array(0);
    } finally {
      closeSync(fd);
    }
  }
}
