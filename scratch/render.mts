import { backends, planRules, resolveManifestNames } from '../src/firewall/index.ts';
import { loadManifest } from '../src/manifest/index.ts';

const m = await loadManifest(process.argv[2]);
const res = await resolveManifestNames(m, async (n) =>
  n.startsWith('svr1')
    ? ['198.51.100.1', '2001:db8::1']
    : n.startsWith('svr2')
      ? ['198.51.100.2']
      : (() => {
          throw Object.assign(new Error('x'), { code: 'ENOTFOUND' });
        })(),
);
const plan = planRules(m, res);
for (const f of backends[process.argv[3] as 'pf'].render(plan)) {
  console.log('==== ' + f.name);
  console.log(f.content);
}
