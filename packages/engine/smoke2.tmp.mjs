import { initBackend, loadModel, HessianEngine, tf } from '@hessian/engine';
await initBackend('cpu');
for (const name of process.argv.slice(2)) {
  const m = await loadModel('zoo:'+name);
  const n=4; const per=m.inputShape.reduce((a,b)=>a*b,1);
  const x=new Float32Array(n*per).map((_,i)=>Math.sin(i*0.37));
  const labels=Int32Array.from({length:n},(_,i)=>i%m.outputSize);
  const e=new HessianEngine(m,{x,shape:[n,...m.inputShape],labels,numClasses:m.outputSize});
  const op=e.operator('hessian',{kind:'full'});
  const v=new Float32Array(op.dim).fill(0.01);
  for (let k=0;k<3;k++){const t1=Date.now(); await op.matvec(v); console.log(name,' hv', Date.now()-t1,'ms');}
  const prof = await tf.profile(async()=>{ const r = await op.matvec(v); });
  const agg={}; for (const k of prof.kernels){ agg[k.name]=(agg[k.name]||0)+k.kernelTimeMs; }
  console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,8));
}
