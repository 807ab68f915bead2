// Raw-tfjs-op models for the native backend benchmark (no tfjs-layers, no customGrad):
// loss = mean(logSumExp(logits) - sum(onehot * logits)); HVP by double backprop.
import * as tf from '@tensorflow/tfjs-core';

// Deterministic LCG so every backend sees the same numbers.
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
export function randn(shape, seed, scale = 1) {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), w = r();
    v[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  }
  return v;
}

function ce(logits, y) {
  const m = tf.max(logits, 1, true);
  const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1, true)), m);
  return tf.mean(tf.sub(tf.reshape(lse, [-1]), tf.sum(tf.mul(y, logits), 1)));
}
function dense(x, w, b) {
  return tf.add(tf.matMul(x, w), b);
}

export function mlpSpec(batch = 256) {
  const sizes = [784, 256, 128, 10];
  const shapes = [];
  for (let i = 0; i < 3; i++) shapes.push([sizes[i], sizes[i + 1]], [sizes[i + 1]]);
  return {
    name: `mlp-784-256-128-10 b${batch}`,
    shapes,
    xShape: [batch, 784],
    classes: 10,
    loss(p, x, y) {
      let h = tf.relu(dense(x, p[0], p[1]));
      h = tf.relu(dense(h, p[2], p[3]));
      return ce(dense(h, p[4], p[5]), y);
    },
  };
}

export function lenetSpec(batch = 128) {
  return {
    name: `lenet5 b${batch}`,
    shapes: [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [400, 120], [120], [120, 84], [84], [84, 10], [10]],
    xShape: [batch, 28, 28, 1],
    classes: 10,
    loss(p, x, y) {
      let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, p[0], 1, 'same'), p[1])), 2, 2, 'valid');
      h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, p[2], 1, 'valid'), p[3])), 2, 2, 'valid');
      h = tf.reshape(h, [h.shape[0], 400]);
      h = tf.relu(dense(h, p[4], p[5]));
      h = tf.relu(dense(h, p[6], p[7]));
      return ce(dense(h, p[8], p[9]), y);
    },
  };
}

/** Builds tensors (params, v, x, y) on the current backend. */
export function instantiate(spec, seed = 1) {
  const params = spec.shapes.map((s, i) => {
    const fanIn = s.length === 1 ? 1 : s.slice(0, -1).reduce((a, b) => a * b, 1);
    return tf.tensor(randn(s, seed * 100 + i, s.length === 1 ? 0.1 : Math.sqrt(2 / fanIn)), s);
  });
  const v = spec.shapes.map((s, i) => tf.tensor(randn(s, seed * 1000 + 7 + i), s));
  const x = tf.tensor(randn(spec.xShape, seed * 31 + 5), spec.xShape);
  const batch = spec.xShape[0];
  const r = rng(seed * 17 + 3);
  const lab = new Int32Array(batch).map(() => Math.floor(r() * spec.classes));
  const y = tf.cast(tf.oneHot(tf.tensor1d(lab, 'int32'), spec.classes), 'float32');
  return { params, v, x, y };
}

export function forward(spec, t) {
  return tf.tidy(() => spec.loss(t.params, t.x, t.y));
}
export function gradient(spec, t) {
  return tf.tidy(() => tf.grads((...p) => spec.loss(p, t.x, t.y))(t.params));
}
export function hvp(spec, t) {
  return tf.tidy(() =>
    tf.grads((...p) => {
      const g = tf.grads((...q) => spec.loss(q, t.x, t.y))(p);
      return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, t.v[i]))));
    })(t.params),
  );
}
export function dispose(t) {
  tf.dispose([...t.params, ...t.v, t.x, t.y]);
}
