import { initBackend, loadModel, HessianEngine, tf } from '@hessian/engine';
console.log(await initBackend('cpu'));
for (const name of ['tiny-mlp','tiny-cnn','lenet','resnet-mini','vgg-mini','mlp']) {
  const t0=Date.now();
  const m = await loadModel('zoo:'+name);
  console.log(name, m.paramCount, m.inputShape, m.outputSize, m.notes, Date.now()-t0, 'ms');
  const n=4; const per=m.inputShape.reduce((a,b)=>a*b,1);
  const x=new Float32Array(n*per).map((_,i)=>Math.sin(i*0.37));
  const labels=Int32Array.from({length:n},(_,i)=>i%m.outputSize);
  const e=new HessianEngine(m,{x,shape:[n,...m.inputShape],labels,numClasses:m.outputSize});
  console.log(' loss', e.loss());
  const op=e.operator('hessian',{kind:'full'});
  const v=new Float32Array(op.dim).fill(0.01);
  const t1=Date.now(); const hv=await op.matvec(v); console.log(' hv', hv.slice(0,3), Date.now()-t1,'ms');
  const g=e.operator('gauss-newton',{kind:'full'}); const gv=await g.matvec(v); console.log(' gv', gv.slice(0,3));
  e.dispose(); m.dispose();
}
console.log(tf.memory().numTensors);
