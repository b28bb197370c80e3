/** The lab's processes: stopping one and waiting (bounded) until it is gone. */
import { sleep } from '../src/deadline/index.js';
import { processAlive } from '../src/system/index.js';

/** SIGKILLs `pid` and waits until it is gone (bounded: 100 x 20 ms); nothing when it is not running. */
export async function killAndWait(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(20);
}
