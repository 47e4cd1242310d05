// Builds a built-in app by name, for the CLI, the lab's server process and the
// simulator. The apps themselves are in this folder; none of them does I/O.
import { BlobApp } from './blob.js';
import { EchoApp } from './echo.js';
import type { FileStore } from './http/file-store.js';
import { HttpFileServer } from './http/http-server.js';
import type { AppKind, ReplicableApp } from './replicable.js';
import { RespServer } from './resp/resp-server.js';

export interface AppDeps {
  /** Required for 'http'. */
  store?: FileStore;
  /** For 'blob': send this many bytes on connect instead of reading requests. */
  blobBytesOnConnect?: number;
}

export function createApp(kind: AppKind, deps: AppDeps = {}): ReplicableApp {
  switch (kind) {
    case 'echo': return new EchoApp();
    case 'blob': return new BlobApp({ bytesOnConnect: deps.blobBytesOnConnect });
    case 'resp': return new RespServer();
    case 'http':
      if (deps.store === undefined) throw new Error('the http app needs a file store (--root DIR)');
      return new HttpFileServer(deps.store);
  }
}

export { APP_KINDS, type AppKind, type ReplicableApp } from './replicable.js';
export { blobChunk, blobSha256 } from './blob-pattern.js';
