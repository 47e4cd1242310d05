// Loading `unbroken serve --config FILE`: read the file (bounded), parse JSON or YAML
// with line numbers in errors, validate (schema.ts), resolve relative paths against the
// file's directory, and check the key file on disk. Nothing here starts a role.
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import type { ConfigError } from './validate.js';
import { formatConfigError } from './validate.js';
import type { ConfigResult, ServeConfig } from './schema.js';
import { validateConfig } from './schema.js';

export const CONFIG_MAX_BYTES = 4 * 1024 * 1024;

export type ConfigFormat = 'json' | 'yaml';

/** Parse and validate config text. YAML also accepts JSON; `json` gives JSON's stricter errors. */
export function parseConfigText(text: string, format: ConfigFormat): ConfigResult {
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const at = e.linePos?.[0];
      const where = at ? `line ${at.line}, column ${at.col}: ` : '';
      return { ok: false, errors: [{ path: '', message: `not valid YAML: ${where}${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` }] };
    }
    return { ok: false, errors: [{ path: '', message: `not valid ${format.toUpperCase()}: ${(e as Error).message}` }] };
  }
  return validateConfig(data);
}

export function formatOf(path: string): ConfigFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

export interface LoadOptions {
  /** Check that files the config names exist with safe permissions (default true). */
  checkFiles?: boolean;
}

/** Read, parse, validate and check a config file. Errors name the field and the fix; nothing throws. */
export function loadConfigFile(path: string, opts: LoadOptions = {}): ConfigResult {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) return { ok: false, errors: [{ path: '', message: `${path} is not a regular file` }] };
    if (st.size > CONFIG_MAX_BYTES) return { ok: false, errors: [{ path: '', message: `${path} is ${st.size} bytes; a config file is at most ${CONFIG_MAX_BYTES}` }] };
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { ok: false, errors: [{ path: '', message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  const r = parseConfigText(text, formatOf(path));
  if (!r.ok) return r;
  const config = resolvePaths(r.config, dirname(resolve(path)));
  if (opts.checkFiles === false) return { ok: true, config };
  const errors = checkFiles(config);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** Relative file paths in the config are relative to the config file's directory. */
export function resolvePaths(c: ServeConfig, baseDir: string): ServeConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  switch (c.role) {
    case 'sttcp-primary':
    case 'sttcp-backup':
      return { ...c, sttcp: { ...c.sttcp, keyFile: abs(c.sttcp.keyFile), app: c.sttcp.app.kind === 'http' ? { ...c.sttcp.app, root: abs(c.sttcp.app.root) } : c.sttcp.app } };
    case 'splicer':
      return { ...c, splicer: { ...c.splicer, keyFile: abs(c.splicer.keyFile) } };
    case 'backend':
      return { ...c, backend: { ...c.backend, keyFile: abs(c.backend.keyFile), app: c.backend.app.kind === 'http' ? { ...c.backend.app, root: abs(c.backend.app.root) } : c.backend.app } };
    case 'call-controller':
      return c.controller.cdr.path ? { ...c, controller: { ...c.controller, cdr: { ...c.controller.cdr, path: abs(c.controller.cdr.path) } } } : c;
    case 'media-gateway':
      return c;
  }
}

/** The shared key must exist, hold at least 32 bytes and not be readable by other users. */
export function checkKeyFile(field: string, path: string): ConfigError[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return [{ path: field, message: code === 'ENOENT'
      ? `${path} does not exist; create it with: head -c 32 /dev/urandom > ${path} && chmod 600 ${path} (and copy the same file to the peer)`
      : `cannot read ${path} (${code})` }];
  }
  if (!st.isFile()) return [{ path: field, message: `${path} is not a regular file` }];
  if (st.size < 32) return [{ path: field, message: `${path} holds ${st.size} bytes; the key needs at least 32 random bytes: head -c 32 /dev/urandom > ${path}` }];
  if ((st.mode & 0o077) !== 0) {
    return [{ path: field, message: `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${path}` }];
  }
  return [];
}

function checkFiles(c: ServeConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  const dir = (field: string, p: string): void => {
    try {
      if (!statSync(p).isDirectory()) errors.push({ path: field, message: `${p} is not a directory` });
    } catch {
      errors.push({ path: field, message: `${p} does not exist; create it or point this at the directory of files to serve` });
    }
  };
  switch (c.role) {
    case 'sttcp-primary':
    case 'sttcp-backup':
      errors.push(...checkKeyFile('sttcp.keyFile', c.sttcp.keyFile));
      if (c.sttcp.app.kind === 'http') dir('sttcp.app.root', c.sttcp.app.root);
      break;
    case 'splicer':
      errors.push(...checkKeyFile('splicer.keyFile', c.splicer.keyFile));
      break;
    case 'backend':
      errors.push(...checkKeyFile('backend.keyFile', c.backend.keyFile));
      if (c.backend.app.kind === 'http') dir('backend.app.root', c.backend.app.root);
      break;
    case 'call-controller':
    case 'media-gateway':
      break;
  }
  return errors;
}

/** All errors as lines for the terminal, e.g. "sttcp.heartbeatMs: must be an integer from 1 to 10000 (got "fast")". */
export function formatConfigErrors(file: string, errors: readonly ConfigError[]): string {
  return `${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n` + errors.map((e) => `  ${formatConfigError(e)}`).join('\n');
}
