#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node) side of the benchmarks and agreement checks: times or runs one ONNX file.
//
// Usage:
//   node bench/peers/ort_run.js MODEL.onnx --shape NxCxHxW [--threads T] --bench [--warmup W] [--iters I] [--seed S]
//       warm-up, then I timed runs on a random input: prints one JSON line
//       {"latency_ms": median, "p90_ms", "images_per_s", "batch", "threads", "iters", "ort"}
//   node bench/peers/ort_run.js MODEL.onnx --shape NxCxHxW [--threads T] --run IN.bin OUT.bin
//       IN.bin: raw little-endian f32 of the given shape -> OUT.bin: raw little-endian f32 of the first
//       output; prints {"output_shape": [...]} on stdout.
// The session uses T intra-op and T inter-op threads, graphOptimizationLevel 'all' and sequential
// execution (so T is the number of threads doing the work, as leancnn's --threads). Exit 2 on a usage
// error, 1 when ONNX Runtime fails (its message names the node or attribute it rejects).
'use strict';
const fs = require('fs');
const path = require('path');

function usage(msg) {
  process.stderr.write(`ort_run.js: ${msg}\n` +
    'usage: ort_run.js MODEL.onnx --shape NxCxHxW [--threads T] (--bench [--warmup W] [--iters I] [--seed S] | --run IN.bin OUT.bin)\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {model: null, shape: null, threads: 2, mode: null, warmup: 5, iters: 50, seed: 0, inFile: null, outFile: null};
  const int = (s, name) => {
    if (!/^\d+$/.test(s || '')) usage(`${name} needs a non-negative integer, got '${s}'`);
    return Number(s);
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '--shape') {
      const text = argv[++i] || '';
      if (!/^\d+(x\d+)*$/.test(text)) usage(`--shape needs dims like 1x3x224x224, got '${text}'`);
      a.shape = text.split('x').map(Number);
    } else if (arg === '--threads') a.threads = int(argv[++i], '--threads');
    else if (arg === '--warmup') a.warmup = int(argv[++i], '--warmup');
    else if (arg === '--iters') a.iters = int(argv[++i], '--iters');
    else if (arg === '--seed') a.seed = int(argv[++i], '--seed');
    else if (arg === '--bench') a.mode = 'bench';
    else if (arg === '--run') {
      a.mode = 'run';
      a.inFile = argv[++i];
      a.outFile = argv[++i];
      if (!a.inFile || !a.outFile) usage('--run needs IN.bin OUT.bin');
    } else if (arg.startsWith('-')) usage(`unknown option '${arg}'`);
    else if (a.model === null) a.model = arg;
    else usage(`unexpected argument '${arg}'`);
  }
  if (a.model === null) usage('no model file');
  if (a.shape === null) usage('--shape is required');
  if (a.mode === null) usage('one of --bench or --run is required');
  if (a.threads < 1) usage('--threads must be >= 1');
  if (a.mode === 'bench' && a.iters < 1) usage('--iters must be >= 1');
  return a;
}

// Deterministic uniform [-1, 1) values (xorshift32): the same seed gives the same input.
function randomInput(count, seed) {
  const data = new Float32Array(count);
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < count; ++i) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    data[i] = (s / 4294967296) * 2 - 1;
  }
  return data;
}

function quantile(sorted, q) {  // linear interpolation between closest ranks, as numpy's default
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    process.stderr.write(`ort_run.js: onnxruntime-node is not installed (run bench/peers/install.sh): ${e.message}\n`);
    process.exit(1);
  }
  const version = require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: a.threads,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  let session;
  try {
    session = await ort.InferenceSession.create(a.model, options);
  } catch (e) {
    process.stderr.write(`ort_run.js: ONNX Runtime cannot load '${a.model}': ${e.message}\n`);
    process.exit(1);
  }
  const count = a.shape.reduce((x, y) => x * y, 1);
  let data;
  if (a.mode === 'run') {
    const raw = fs.readFileSync(a.inFile);
    if (raw.length !== count * 4) {
      process.stderr.write(`ort_run.js: '${a.inFile}' has ${raw.length} bytes, expected ${count * 4} for shape ${a.shape.join('x')}\n`);
      process.exit(2);
    }
    data = new Float32Array(count);
    for (let i = 0; i < count; ++i) data[i] = raw.readFloatLE(4 * i);
  } else {
    data = randomInput(count, a.seed);
  }
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, a.shape)};
  const outName = session.outputNames[0];

  if (a.mode === 'run') {
    let out;
    try {
      out = (await session.run(feeds))[outName];
    } catch (e) {
      process.stderr.write(`ort_run.js: ONNX Runtime failed to run '${a.model}': ${e.message}\n`);
      process.exit(1);
    }
    const buf = Buffer.alloc(out.data.length * 4);
    for (let i = 0; i < out.data.length; ++i) buf.writeFloatLE(out.data[i], 4 * i);
    fs.writeFileSync(a.outFile, buf);
    process.stdout.write(JSON.stringify({output_shape: out.dims}) + '\n');
    return;
  }

  for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < a.iters; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((x, y) => x - y);
  const median = quantile(ms, 0.5);
  process.stdout.write(JSON.stringify({
    latency_ms: median, p90_ms: quantile(ms, 0.9), images_per_s: a.shape[0] / (median / 1000),
    batch: a.shape[0], threads: a.threads, iters: a.iters, ort: version,
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`ort_run.js: ${e.stack || e}\n`);
  process.exit(1);
});
