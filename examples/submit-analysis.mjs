// Submits an analysis of zoo:lenet on fashion-mnist:train[0:256] to a hessian-cluster
// coordinator, follows its events and prints the result table.
//
//   hessctl cluster up --workers 2              # or any running coordinator
//   node examples/submit-analysis.mjs [HOST:PORT]   # default: $HESSIAN_SERVER, else 127.0.0.1:7070
//
// Plain JavaScript (ES module) on the built packages: run `npm run build` first.
import { CoordinatorConnection } from '@hessian/client';
import { normalizeSpec } from '@hessian/analysis';
import { renderTable } from '@hessian/report';

const server = process.argv[2] ?? process.env.HESSIAN_SERVER ?? '127.0.0.1:7070';

// The same spec `hessctl analyze` builds from its flags; normalizeSpec fills the defaults
// (Lanczos top-3, 100 Hutchinson probes, 5 SLQ runs) and checks every field.
const spec = normalizeSpec({
  model: 'zoo:lenet',
  data: 'fashion-mnist:train[0:256]',
  topK: { k: 3 },
  trace: { probes: 50 },
  density: { runs: 2, steps: 40 },
  seed: 1,
});

const conn = await CoordinatorConnection.connect(server, { deadlineMs: 10_000 });
try {
  const job = await conn.submitAnalysis(spec, { scope: 'batch' });
  console.log(`job ${job.id} submitted to ${conn.address}`);

  // Events until the job ends; the stream resumes by itself if the coordinator restarts.
  for await (const ev of conn.watchJob(job.id)) {
    const p = ev.progress;
    const tasks = p ? ` [${p.tasksDone + p.tasksSkipped}/${p.tasksTotal} tasks, ${p.hvps} HVPs]` : '';
    if (ev.type !== 'progress') console.log(`${ev.time}  ${ev.type.padEnd(17)} ${ev.taskId || ''} ${ev.worker || ''}${tasks}`);
  }

  const done = await conn.getJob(job.id, { includeReport: true });
  if (done.state !== 'SUCCEEDED') {
    console.error(`job ${job.id} ended ${done.state}: ${done.error}`);
    process.exitCode = 1;
  } else {
    console.log(renderTable(JSON.parse(done.reportJson)));
  }
} catch (e) {
  // UserError: a sentence saying what to change (bad spec, unreachable coordinator, ...).
  console.error(e instanceof Error && e.name === 'UserError' ? e.message : e);
  process.exitCode = 2;
} finally {
  conn.close();
}
