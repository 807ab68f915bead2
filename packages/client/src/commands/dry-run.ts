/**
 * `hessctl analyze --dry-run`: what a job will cost before it runs. Prepares the engine here
 * (model, data), times one calibration product, plans, and prints tasks, products, memory and
 * the predicted time on 1..16 workers (packages/analysis/src/cost.ts says how). Nothing runs.
 */
import { calibrateHvp, formatBytes, plan, predictPlan, prepare, traceChunkAdvice, type AnalysisSpec } from '@hessian/analysis';
import type { BackendName } from '@hessian/engine';

function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

export async function dryRun(spec: AnalysisSpec, backend: BackendName, format: 'table' | 'json'): Promise<number> {
  const p = await prepare(spec, backend);
  try {
    const groups = p.model.groups(spec.convention);
    const planned = plan(spec, groups);
    const batch = { ...p.data, shape: [p.data.shape[0], ...p.model.inputShape], numClasses: p.model.outputSize };
    const hvpSeconds = await calibrateHvp(p.model, batch, spec.batchSize, spec.loss);
    const pred = predictPlan(planned, hvpSeconds, p.memory.available);
    const advice = spec.trace ? traceChunkAdvice(hvpSeconds, spec.trace.chunk, spec.trace.probes) : null;
    const out = {
      model: spec.model,
      data: p.data.description,
      backend: p.backend,
      params: p.model.paramCount,
      examples: p.data.shape[0],
      scopes: planned.scopes.length,
      hvpSeconds,
      memory: { budgetBytes: p.memory.budget.bytes, budgetSource: p.memory.budget.source, engineBytes: p.memory.engineBytes },
      ...pred,
      ...(advice ? { traceChunkAdvice: advice } : {}),
    };
    if (format === 'json') {
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const w = process.stdout;
    w.write(`dry run (nothing computed but one calibration product): ${spec.model} on ${out.data}, backend ${p.backend}\n`);
    w.write(`  ${out.params} parameters, ${out.examples} examples; ${out.scopes} scopes, ${pred.tasks} tasks, ${pred.hvps} operator products\n`);
    w.write(`  one full-network product: ${duration(hvpSeconds)} (timed on the first micro-batch, scaled to ${out.examples} examples)\n`);
    w.write(`  memory per worker: engine ${formatBytes(p.memory.engineBytes)} + largest task ${formatBytes(pred.maxTaskBytes)} of a ${formatBytes(p.memory.budget.bytes)} budget (${p.memory.budget.source})\n`);
    const modes = Object.entries(pred.modes).map(([m, n]) => `${n} ${m}`).join(', ');
    if (modes) w.write(`  Lanczos tasks: ${modes}\n`);
    w.write(`  predicted time: ${Object.entries(pred.secondsOn).map(([n, s]) => `${duration(s)} on ${n} worker${n === '1' ? '' : 's'}`).join(', ')}\n`);
    if (advice) w.write(`  trace tasks: ${advice.why}; --trace-chunk ${advice.chunk} gives ${duration(advice.seconds)} per task (other probes, equally valid numbers)\n`);
    return 0;
  } finally {
    p.engine.dispose();
    p.model.dispose();
  }
}
