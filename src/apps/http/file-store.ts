// The read-only file access the HTTP app is given: an interface plus an in-memory
// implementation for tests and the simulator. The node:fs-backed store is a driver
// (src/drivers/fs-file-store.ts); the app never touches the file system itself.

export type FileStat =
  | { readonly kind: 'file'; readonly size: number; readonly mtimeMs: number }
  | { readonly kind: 'dir' };

/**
 * Paths are normalised by the caller: they start with '/', use '/' separators and
 * contain no '.', '..' or empty segments and no NUL. A store must still refuse to
 * resolve outside its root (symlinks) by answering undefined.
 */
export interface FileStore {
  stat(path: string): FileStat | undefined;
  /** Up to `length` bytes from `offset`; fewer only at end of file; empty when gone. */
  read(path: string, offset: number, length: number): Uint8Array;
}

/** A store over a fixed map of path → bytes; directories are implied by file paths. */
export class MemoryFileStore implements FileStore {
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Set<string>(['/']);

  constructor(files: Record<string, Uint8Array | string> = {}, private readonly mtimeMs = 0) {
    for (const [p, v] of Object.entries(files)) this.put(p, v);
  }

  put(path: string, data: Uint8Array | string): void {
    this.files.set(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
    const parts = path.split('/').filter((s) => s !== '');
    for (let i = 1; i < parts.length; i++) this.dirs.add('/' + parts.slice(0, i).join('/'));
  }

  stat(path: string): FileStat | undefined {
    const f = this.files.get(path);
    if (f !== undefined) return { kind: 'file', size: f.length, mtimeMs: this.mtimeMs };
    return this.dirs.has(path) ? { kind: 'dir' } : undefined;
  }

  read(path: string, offset: number, length: number): Uint8Array {
    const f = this.files.get(path);
    if (f === undefined) return new Uint8Array(0);
    return f.subarray(Math.min(offset, f.length), Math.min(offset + length, f.length));
  }
}
