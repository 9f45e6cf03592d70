import { readdirSync, readFileSync } from 'node:fs';

/** Live (not zombie) processes whose parent is `parentPid` and whose command name is `name`. */
export function childProcessesNamed(name: string, parentPid: number = process.pid): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.ppid === parentPid && stat.comm === name && stat.state !== 'Z') children.push(Number(entry));
  }
  return children;
}

export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function readProcStat(pid: number): { comm: string; state: string; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may itself contain spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const [state = '', ppid = ''] = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state, ppid: Number(ppid) };
}
