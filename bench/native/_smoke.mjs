import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient configs (tfjs-core's node bundle lacks them)
import nat, { nativeKernelNames, registerSecondOrderGradients } from '@hessian/native';
import { mlpSpec, lenetSpec, instantiate, forward, gradient, hvp } from '/work/main/bench/native/models.mjs';
console.log(nat, nativeKernelNames.join(' '), registerSecondOrderGradients());
for (const spec of [mlpSpec(), lenetSpec()]) {
  const res = {};
  for (const be of ['native', 'cpu']) {
    await tf.setBackend(be);
    const t = instantiate(spec);
    let t0 = performance.now();
    const h = hvp(spec, t);
    const ms = performance.now() - t0;
    res[be] = h.map((x) => x.dataSync());
    const l = forward(spec, t).dataSync()[0];
    console.log(spec.name, be, 'loss', l, 'hvp ms', ms.toFixed(1));
  }
  let maxRel = 0;
  res.native.forEach((a, i) => { const b = res.cpu[i]; let num = 0, den = 0; for (let j = 0; j < a.length; j++) { num = Math.max(num, Math.abs(a[j] - b[j])); den = Math.max(den, Math.abs(b[j])); } maxRel = Math.max(maxRel, num / den); });
  console.log('max rel err (inf-norm)', maxRel);
}
