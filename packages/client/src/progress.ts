/** A one-line progress bar on stderr (tasks, HVPs, elapsed, ETA); plain lines when stderr is not a TTY. */
import type { Progress } from '@hessian/analysis';

export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

export class ProgressBar {
  private lastLine = 0;
  private lastPlain = -1;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  update(p: Progress): void {
    if (!this.enabled) return;
    const frac = p.costTotal > 0 ? Math.min(1, p.costDone / p.costTotal) : 0;
    const done = p.tasksDone + p.tasksSkipped;
    const text = `tasks ${done}/${p.tasksTotal}  HVPs ${p.hvps}  elapsed ${formatDuration(p.elapsedSeconds)}  ETA ${formatDuration(p.etaSeconds)}`;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastLine < 100 && done < p.tasksTotal) return;
      this.lastLine = now;
      const width = 28;
      const filled = Math.round(frac * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${text}\x1b[K`);
    } else {
      // Not a terminal (CI, a log file): a line every 10%.
      const decile = Math.floor(frac * 10);
      if (decile === this.lastPlain) return;
      this.lastPlain = decile;
      this.stream.write(`${(frac * 100).toFixed(0).padStart(3)}%  ${text}\n`);
    }
  }

  done(): void {
    if (this.enabled && this.stream.isTTY) this.stream.write('\n');
  }
}
