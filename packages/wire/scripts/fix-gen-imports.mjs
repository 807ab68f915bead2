// proto-loader-gen-types writes extensionless relative imports; NodeNext needs '.js'.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
function walk(dir) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) writeFileSync(p, readFileSync(p, 'utf8').replace(/from '(\.{1,2}\/[^']+?)(?<!\.js)'/g, "from '$1.js'"));
  }
}
walk(new URL('../src/gen', import.meta.url).pathname);
