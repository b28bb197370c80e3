/** Processes by pid: whether one still runs. */

/** Whether a process runs (EPERM: it exists and belongs to another user, so it runs). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
