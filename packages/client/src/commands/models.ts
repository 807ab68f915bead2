/** `hessctl models` and `hessctl inspect`: what the zoo holds, and what a model is made of. */
import { initBackend, loadModel, modelNeedsConv, zooModels } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { choice, parseFlags, type Command } from '../flags.js';
import { BACKENDS, backendFrom } from './analyze.js';

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the model zoo (use as --model zoo:NAME)',
  usage: 'hessctl models [--format table|json]',
  flags: [
    { name: 'all', type: 'boolean', help: 'also list the test fixtures (tiny-mlp, tiny-cnn: a few hundred parameters, for tests and quick checks)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
};

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show the layers of a model: names, classes, output shapes and parameter counts, and the parameter groups analyze uses',
  usage: 'hessctl inspect --model zoo:NAME|PATH/model.json|PATH.onnx|PATH.h5|PATH.keras [--convention layer|weights-only]',
  flags: [
    { name: 'model', type: 'string', arg: 'SPEC', help: 'zoo:NAME, the path of a tfjs model.json, a .onnx file or a Keras .h5 / .keras file' },
    { name: 'model-seed', type: 'string', arg: 'N', default: '0', help: "seed of a zoo model's initial weights" },
    { name: 'convention', type: 'string', arg: 'C', default: 'layer', help: 'parameter groups: layer (kernel and bias) | weights-only (kernel only)' },
    { name: 'backend', type: 'string', arg: 'B', default: 'auto', help: BACKENDS.join(' | ') },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
};

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export async function models(argv: string[]): Promise<number> {
  const { values } = parseFlags(modelsCommand, argv);
  const all = zooModels();
  const zoo = values.all === true ? all : all.filter((m) => !m.fixture);
  const hidden = all.length - zoo.length;
  if (choice(values, 'format', ['table', 'json'] as const) === 'json') process.stdout.write(JSON.stringify(zoo, null, 2) + '\n');
  else {
    process.stdout.write(table([['name', 'input', 'params'], ...zoo.map((m) => [`zoo:${m.name}`, `[${m.inputShape.join(',')}]`, String(m.params)])]));
    for (const m of zoo) process.stdout.write(`  zoo:${m.name}: ${m.description}\n`);
    if (hidden) process.stdout.write(`(${hidden} test fixtures not shown: hessctl models --all)\n`);
  }
  return 0;
}

export async function inspect(argv: string[]): Promise<number> {
  const { values } = parseFlags(inspectCommand, argv);
  if (typeof values.model !== 'string') throw new UserError('--model is required: give zoo:NAME (see `hessctl models`) or the path of a model.json');
  const convention = choice(values, 'convention', ['layer', 'weights-only'] as const) ?? 'layer';
  const seed = Number(values['model-seed'] ?? 0);
  await initBackend(backendFrom(values, argv), { needsConv: modelNeedsConv(values.model) });
  const model = await loadModel(values.model, { seed });
  try {
    const layers = model.layers();
    const groups = model.groups(convention);
    if (choice(values, 'format', ['table', 'json'] as const) === 'json') {
      process.stdout.write(JSON.stringify({ name: model.name, inputShape: model.inputShape, outputSize: model.outputSize, params: model.paramCount, layers, groups, convention, notes: model.notes }, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(`${model.name}: input [${model.inputShape.join(', ')}], ${model.outputSize} outputs, ${model.paramCount} trainable parameters\n\n`);
    process.stdout.write(table([['layer', 'class', 'output shape', 'params'], ...layers.map((l) => [l.name, l.className, `[${l.outputShape.join(', ')}]`, String(l.params)])]));
    process.stdout.write(`\nparameter groups (--convention ${convention}), as named in --layers:\n`);
    process.stdout.write(table([['group', 'class', 'tensors', 'params'], ...groups.map((g) => [g.name, g.className, g.tensors.map((t) => `${t.name}[${t.shape.join('x')}]`).join(' '), String(g.size)])]));
    if (model.params.some((p) => p.origin)) {
      // Where each range of the parameter vector comes from in the file (PyTorch state_dict names for torch.onnx exports).
      process.stdout.write('\nparameter vector (offsets into --diagonal-style outputs) and the tensors of the file:\n');
      process.stdout.write(table([['range', 'tensor', 'file tensor', 'layout'], ...model.params.map((p) => [`${p.offset}..${p.offset + p.size - 1}`, p.name, p.origin?.name ?? '', p.origin?.layout ?? ''])]));
    }
  } finally {
    model.dispose();
  }
  return 0;
}
