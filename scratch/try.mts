import { startLab } from '/work/main/lab/lab.ts';

const t0 = performance.now();
const lab = await startLab({ topology: (process.argv[2] ?? 'home') as 'home' }, { byHand: !!process.env.KEEP });
console.log('up in', Math.round(performance.now() - t0), 'ms', lab.id);
console.log(
  lab
    .log('miniupnpd')
    .split('\n')
    .filter((l) => /STUN:|forwarding|Listening|HTTP/.test(l))
    .join('\n'),
);
const r = await lab.exec('lan', 'natpmpc', ['-g', lab.addresses.routerLan, '-a', '7001', '7001', 'tcp', '60']);
console.log(
  r.code,
  r.stdout
    .split('\n')
    .filter((l) => /Mapped|Public|error|fail/i.test(l))
    .join(' | '),
  r.stderr,
);
if (!process.env.KEEP) lab.stop();
else console.log(lab.state.dir);
