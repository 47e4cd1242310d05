// Describes the machine a benchmark ran on (CPU model, cores, memory, kernel, Node),
// read from /proc/cpuinfo and node:os. Read-only; no measurement here.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
}

/** The "model name" (x86) or "Hardware"/"Processor" (ARM) line of /proc/cpuinfo text. */
export function cpuModelFromCpuinfo(text: string): string | undefined {
  for (const key of ['model name', 'Hardware', 'Processor', 'cpu model']) {
    const m = new RegExp(`^${key}\\s*:\\s*(.+)$`, 'm').exec(text);
    if (m && m[1]!.trim() !== '') return m[1]!.trim().replace(/\s+/g, ' ');
  }
  return undefined;
}

export function machineInfo(): MachineInfo {
  let cpuModel: string | undefined;
  try {
    cpuModel = cpuModelFromCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    cpuModel = undefined;
  }
  return {
    cpuModel: cpuModel ?? os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function formatMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  return `${m.cpuModel} · ${m.cores} cores · ${gib} GiB RAM · ${m.kernel} · Node ${m.node}`;
}
