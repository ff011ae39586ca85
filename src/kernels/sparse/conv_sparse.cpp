// Conv and ai.leancnn FusedConv on sparse weights (sparse_rule.h decides which): the weights
// [oc, ic * kh * kw] packed once as sparse rows whose offsets address the source directly (csr.h),
// so a 1x1 stride-1 conv reads its NCHW source as it is and any other conv a zero-padded copy of
// it split into stride phases (no im2col: consecutive outputs of one row read consecutive inputs
// for every tap). Runs of up to 64 (AVX-512) or 32 (AVX2) outputs x blocks of
// output channels in parallel (spmm_impl.h), bias and Relu in registers, Z and the other activations on the run while it is
// in cache. NCHW in and out; groups = 1. Within fp32 tolerance of the references
// (tests/conformance/sparse_conformance.cpp).
#include <algorithm>
#include <vector>

#include "csr.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"
#include "sparse_kernels.h"
#include "leancnn/kernels/sparse_rule.h"

namespace leancnn::kernels {
namespace {
using ops::ConvGeometry;
using sparse::SparseRows;

// How the kernel reads its source: a 1x1 stride-1 conv reads it as it is ([ic, h * w] rows);
// every other conv reads a zero-padded copy directly, one output row at a time. A strided conv's
// copy is split into its stride phases: plane (c, py, px) holds padded pixels (y * sh + py,
// x * sw + px), so tap (ky, kx) of output (oy, ox) is pixel (oy + ky / sh, ox + kx / sw) of plane
// (c, ky % sh, kx % sw) (dilation folded into ky, kx): again consecutive outputs read consecutive
// inputs for every tap, and the copy is no bigger than the source (an im2col is kh * kw / (sh * sw)
// times bigger). Stride 1 has one phase: the plain padded copy. Narrow maps (a row
// shorter than half the product's run) read the padded copy "wide": the outputs are computed
// over the padded row width, so that one run spans several rows (output (oy, ox) sits at
// oy * pw + ox in plane coordinates, and consecutive positions still read consecutive inputs
// for every tap); the pw - ow positions past each row's end are computed and dropped when the
// run's rows are copied out. A 7x7 map then fills 61 of 64 lanes instead of 7 of 16.
enum class Mode { direct, padded, wide };

struct PreparedConv {
  Shape src_shape;
  ConvGeometry g;
  Mode mode = Mode::padded;
  int64_t ph = 0, pw = 0;    // height and width of one phase plane of the padded source (padded, wide)
  std::vector<bool> phase_used;  // [sh * sw]: some tap reads phase (py, px) (a 1x1 stride-2 conv: one of four)
  std::vector<SparseRows> w;  // blocks of input channels, in order (see channel_blocks)
  std::vector<float> bias;   // empty: none
};

// How many blocks of input channels the product passes over, one after the other, so that a
// run's inputs of one block stay in L1 while all the rows of a task read them (the first block
// starts from the bias, later ones add to the outputs; Z and the activation come with the last):
// about 16 KB of inputs per block, half of a 32 KB L1 for the weights and outputs.
int64_t channel_blocks(const ConvGeometry& g, Mode mode, int64_t pw, int64_t run) {
  int64_t per_channel = run;  // floats of input one run reads per input channel
  switch (mode) {
    case Mode::direct: break;
    case Mode::padded: per_channel = g.kh * (std::min(run, g.ow) + (g.kw - 1) * g.dil_w); break;
    case Mode::wide: per_channel = g.stride_h * g.stride_w * (run + ((g.kh - 1) * g.dil_h / g.stride_h + 1) * pw); break;
  }
  const int64_t channels = std::max<int64_t>(1, (16 * 1024 / 4) / per_channel);
  return (g.ic + channels - 1) / channels;
}

Mode mode_of(const ConvGeometry& g) {
  const bool unpadded = g.pad_t == 0 && g.pad_l == 0 && g.pad_b == 0 && g.pad_r == 0;
  if (g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && unpadded) return Mode::direct;
  return 2 * g.ow <= sparse::product().run && g.oh > 1 ? Mode::wide : Mode::padded;
}

std::shared_ptr<PreparedConv> prepare_conv(const ir::ForwardCtx& ctx) {
  auto pc = std::make_shared<PreparedConv>();
  const Tensor& w = ctx.inputs[1];
  pc->src_shape = ctx.inputs[0].shape();
  const ConvGeometry& g = pc->g = ops::conv_geometry(ctx.node, pc->src_shape, w.shape());
  pc->mode = mode_of(g);
  const int64_t sh = g.stride_h, sw = g.stride_w;
  pc->ph = (g.ih + g.pad_t + g.pad_b + sh - 1) / sh;
  pc->pw = (g.iw + g.pad_l + g.pad_r + sw - 1) / sw;
  pc->phase_used.assign(static_cast<size_t>(sh * sw), false);
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) pc->phase_used[static_cast<size_t>(ky * g.dil_h % sh * sw + kx * g.dil_w % sw)] = true;
  const int64_t taps = g.kh * g.kw, cols = g.ic * taps;
  auto offset = [&](int64_t k) -> int64_t {
    const int64_t c = k / taps, ky = (k % taps) / g.kw, kx = k % g.kw;
    switch (pc->mode) {
      case Mode::direct: return c * g.ih * g.iw;
      case Mode::padded:
      case Mode::wide: break;
    }
    const int64_t ry = ky * g.dil_h, rx = kx * g.dil_w;
    const int64_t plane = (c * sh + ry % sh) * sw + rx % sw;
    return (plane * pc->ph + ry / sh) * pc->pw + rx / sw;
  };
  // Each block's pass costs a load and store of the outputs per row: keep 24 non-zeros per row
  // and block at least (the 1x1 layers of 90 %-pruned ResNets have a handful per 64 channels).
  const double nnz_per_row = sparse::density(w.data<float>(), w.numel()) * static_cast<double>(cols);
  const int64_t blocks = std::max<int64_t>(
      1, std::min(channel_blocks(g, pc->mode, pc->pw, sparse::product().run), static_cast<int64_t>(nnz_per_row / 24)));
  for (int64_t b = 0; b < blocks; ++b)
    pc->w.push_back(sparse::sparse_rows_of(w.data<float>(), g.oc, cols, offset, g.ic * b / blocks * taps,
                                           g.ic * (b + 1) / blocks * taps));
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined())
    pc->bias.assign(ctx.inputs[2].data<float>(), ctx.inputs[2].data<float>() + g.oc);
  return pc;
}

// The source of one image, NCHW or channels-last (the plan may hand it over NHWC: the kernels
// declare input 0 channels-last-capable, so a dense producer or a pool need not reorder for them).
struct Source {
  const float* p;
  bool nhwc;
  int64_t c, h, w;
  float at(int64_t ch, int64_t y, int64_t x) const { return nhwc ? p[(y * w + x) * c + ch] : p[(ch * h + y) * w + x]; }
};

// NCHW planes of the source (direct mode reads them as they are; a channels-last source is
// transposed into `dst` first).
const float* nchw_planes(const Source& s, float* dst, bool parallel) {
  if (!s.nhwc) return s.p;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t ch = 0; ch < s.c; ++ch)
    for (int64_t i = 0; i < s.h * s.w; ++i) dst[ch * s.h * s.w + i] = s.p[i * s.c + ch];
  return dst;
}

// The zero-padded source split into stride phases (see Mode): plane (c, py, px), ph x pw.
void pad_source(const PreparedConv& pc, const Source& s, float* dst, bool parallel) {
  const ConvGeometry& g = pc.g;
  const int64_t sh = g.stride_h, sw = g.stride_w, planes = g.ic * sh * sw;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p / (sh * sw), py = p / sw % sh, px = p % sw;
    if (!pc.phase_used[static_cast<size_t>(py * sw + px)]) continue;  // no tap reads it
    float* plane = dst + p * pc.ph * pc.pw;
    std::fill(plane, plane + pc.ph * pc.pw, 0.f);
    // Plane columns [x0, x1) hold source columns ix = x * sw + px - pad_l in [0, iw).
    const int64_t x0 = std::max<int64_t>(0, (g.pad_l - px + sw - 1) / sw);
    const int64_t x1 = std::min(pc.pw, (g.iw + g.pad_l - px + sw - 1) / sw);
    for (int64_t y = 0; y < pc.ph; ++y) {
      const int64_t iy = y * sh + py - g.pad_t;
      if (iy < 0 || iy >= g.ih) continue;
      float* row = plane + y * pc.pw;
      if (s.nhwc) {
        for (int64_t x = x0; x < x1; ++x) row[x] = s.p[(iy * g.iw + x * sw + px - g.pad_l) * g.ic + c];
      } else {
        const float* src = s.p + (c * g.ih + iy) * g.iw + px - g.pad_l;
        if (sw == 2)  // a constant stride the compiler vectorizes (shuffles)
          for (int64_t x = x0; x < x1; ++x) row[x] = src[2 * x];
        else
          for (int64_t x = x0; x < x1; ++x) row[x] = src[x * sw];
      }
    }
  }
}

struct Epilogue {
  const float* z = nullptr;  // like y, or null
  ops::FusedEpilogue act;
};

// The activations the product does not apply itself (Clip, HardSwish), on rows [r0, r1) x outputs [p0, p1).
void finish(const ops::FusedEpilogue& act, int64_t r0, int64_t r1, int64_t p0, int64_t p1, int64_t pixels, float* y) {
  for (int64_t r = r0; r < r1; ++r) {
    float* yr = y + r * pixels;
    for (int64_t p = p0; p < p1; ++p) yr[p] = ops::apply_epilogue_activation(act, yr[p]);
  }
}

// Wide mode (see Mode): the product over the padded width into `wide` ([oc, span], span =
// (oh - 1) * pw + ow), then each row block's outputs copied out to NCHW with Z and the
// activation. Threads take blocks of output channels.
void run_wide(const PreparedConv& pc, const float* src, const Epilogue& e, const float* bias, bool parallel, float* dst) {
  const ConvGeometry& g = pc.g;
  const sparse::Product& p = sparse::product();
  const int64_t span = (g.oh - 1) * pc.pw + g.ow, pixels = g.oh * g.ow;
  thread_local std::vector<float> wide;
  wide.resize(static_cast<size_t>(g.oc * span));
  float* w = wide.data();
  const bool relu = e.act.activation == ops::FusedActivation::relu;
  // Enough rows per task to reuse each block of inputs while it is in L1, and four tasks at least.
  const int64_t kRows = std::clamp<int64_t>(g.oc / 4, 8, 64);
  const int64_t blocks = (g.oc + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t r0 = b * kRows, r1 = std::min(g.oc, r0 + kRows);
    // Bias (and Relu when no Z comes after the sum) in the product's registers.
    for (int64_t t = 0; t < span; t += p.run)
      for (size_t k = 0; k < pc.w.size(); ++k) {
        const bool last = k + 1 == pc.w.size();
        p.spmm(pc.w[k], r0, r1, src + t, std::min(p.run, span - t), w + t, span,
               {.bias = bias, .relu = last && relu && !e.z, .accumulate = k > 0});
      }
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* in = w + r * span + oy * pc.pw;
        float* out = dst + r * pixels + oy * g.ow;
        if (e.z) {
          const float* z = e.z + r * pixels + oy * g.ow;
          for (int64_t ox = 0; ox < g.ow; ++ox) out[ox] = in[ox] + z[ox];
          if (relu)
            for (int64_t ox = 0; ox < g.ow; ++ox) out[ox] = std::max(out[ox], 0.f);
        } else {
          std::copy_n(in, g.ow, out);
        }
        if (e.act.activation != ops::FusedActivation::none && !relu)
          for (int64_t ox = 0; ox < g.ow; ++ox) out[ox] = ops::apply_epilogue_activation(e.act, out[ox]);
      }
  }
}

void run(const PreparedConv& pc, const Tensor& x, bool src_nhwc, bool z_nhwc, const Epilogue& e, Tensor& y) {
  const ConvGeometry& g = pc.g;
  const sparse::Product& product = sparse::product();
  const int64_t kTile = product.run;  // outputs per product call (four vectors)
  const int64_t pixels = g.oh * g.ow;
  int64_t nnz = 0;
  for (const SparseRows& b : pc.w) nnz += b.nnz();
  const bool parallel = num_threads() > 1 && nnz * pixels >= (1 << 16);
  // Bias, Z and Relu in the product's registers; Clip and HardSwish afterwards (on the run).
  const bool relu = e.act.activation == ops::FusedActivation::relu;
  const bool needs_finish = e.act.activation != ops::FusedActivation::none && !relu;
  const float* bias = pc.bias.empty() ? nullptr : pc.bias.data();
  thread_local std::vector<float> scratch;
  if (pc.mode != Mode::direct)
    scratch.resize(static_cast<size_t>(g.ic * g.stride_h * g.stride_w * pc.ph * pc.pw));
  else if (src_nhwc)
    scratch.resize(static_cast<size_t>(g.ic * g.ih * g.iw));
  // Tasks: runs of up to kTile outputs (within one output row in padded mode) x blocks of rows,
  // so a run's inputs stay in L1 while a block of rows passes over them.
  const int64_t runs_per_row = (g.ow + kTile - 1) / kTile;
  const int64_t runs = pc.mode == Mode::padded ? g.oh * runs_per_row : (pixels + kTile - 1) / kTile;
  const int64_t row_block = std::max<int64_t>(8, std::min<int64_t>(g.oc, 2 * runs >= 8 ? g.oc : 16));
  const int64_t rblocks = (g.oc + row_block - 1) / row_block;
  for (int64_t n = 0; n < g.n; ++n) {
    const Source src{x.data<float>() + n * g.ic * g.ih * g.iw, src_nhwc, g.ic, g.ih, g.iw};
    const float* rows = scratch.data();
    if (pc.mode != Mode::direct)
      pad_source(pc, src, scratch.data(), parallel);
    else
      rows = nchw_planes(src, scratch.data(), parallel);
    float* dst = y.data<float>() + n * g.oc * pixels;
    Epilogue en = e;
    if (en.z) en.z += n * g.oc * pixels;
    thread_local std::vector<float> z_planes;
    if (en.z && z_nhwc) {  // the residual in the output's NCHW order
      z_planes.resize(static_cast<size_t>(g.oc * pixels));
      en.z = nchw_planes({en.z, true, g.oc, g.oh, g.ow}, z_planes.data(), parallel);
    }
    if (pc.mode == Mode::wide) {
      run_wide(pc, rows, en, bias, parallel, dst);
      continue;
    }
    // Contiguous ranges of runs per thread: neighbouring runs share the cache lines at their
    // ends in every output row, so interleaving them across threads would bounce those lines.
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t t = 0; t < runs * rblocks; ++t) {
      const int64_t run = t / rblocks, r0 = (t % rblocks) * row_block, r1 = std::min(g.oc, r0 + row_block);
      int64_t p0 = 0, len = 0;
      const float* in = rows;
      if (pc.mode == Mode::padded) {
        const int64_t oy = run / runs_per_row, ox0 = (run % runs_per_row) * kTile;
        p0 = oy * g.ow + ox0;
        len = std::min(kTile, g.ow - ox0);
        in = rows + oy * pc.pw + ox0;
      } else {
        p0 = run * kTile;
        len = std::min(kTile, pixels - p0);
        in = rows + p0;
      }
      for (size_t k = 0; k < pc.w.size(); ++k) {
        const bool last = k + 1 == pc.w.size();
        product.spmm(pc.w[k], r0, r1, in, len, dst + p0, pixels,
                     {.bias = bias, .z = last && en.z ? en.z + p0 : nullptr, .relu = last && relu, .accumulate = k > 0});
      }
      if (needs_finish) finish(en.act, r0, r1, p0, p0 + len, pixels, dst);
    }
  }
}

std::string check(const ir::ForwardCtx& ctx, bool fused) {
  const Tensor& x = ctx.inputs[0];
  if (ctx.inputs.size() < 2 || !ctx.inputs[1].defined()) return "no weights";
  if (x.dtype() != DType::f32 || x.rank() != 4 || !x.is_contiguous()) return "only contiguous f32 NCHW sources";
  for (size_t i = 2; i < ctx.inputs.size(); ++i)
    if (ctx.inputs[i].defined() && !ctx.inputs[i].is_contiguous()) return "a non-contiguous bias or Z";
  try {
    const ConvGeometry g = ops::conv_geometry(ctx.node, x.shape(), ctx.inputs[1].shape());
    if (g.groups != 1) return "grouped convolutions (groups > 1) stay dense";
    if (fused) ops::fused_epilogue(ctx.node);
    return check_sparse_weights(ctx, 1, sparse_conv_crossover(g));
  } catch (const Error& e) {
    return e.what();
  }
}

void forward(ir::ForwardCtx& ctx, bool fused) {
  Epilogue e;  // the bias comes from the prepared state
  if (fused) {
    if (ctx.inputs.size() > 3 && ctx.inputs[3].defined()) e.z = ctx.inputs[3].data<float>();
    e.act = ops::fused_epilogue(ctx.node);
  }
  const bool src_nhwc = (ctx.channels_last & ir::channels_last_input(0)) != 0;
  const bool z_nhwc = (ctx.channels_last & ir::channels_last_input(3)) != 0;
  if (ctx.prepared) {
    const auto& pc = *static_cast<const PreparedConv*>(ctx.prepared);
    LEANCNN_CHECK(ctx.inputs[0].shape() == pc.src_shape, "prepared sparse conv for input ", shape_str(pc.src_shape),
                  " run on ", shape_str(ctx.inputs[0].shape()));
    run(pc, ctx.inputs[0], src_nhwc, z_nhwc, e, ctx.outputs[0]);
    return;
  }
  run(*prepare_conv(ctx), ctx.inputs[0], src_nhwc, z_nhwc, e, ctx.outputs[0]);
}

// The source (and FusedConv's residual Z) may come channels-last: the source is copied into the
// kernel's own layout anyway (1x1 stride-1 layers then transpose it), Z is transposed once; the
// output is always NCHW. So a pool or dense conv whose output a sparse layer reads need not
// store it NCHW (oneDNN's NCHW pooling is a slow reference path on AVX2).
ChannelsLast channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_input(3), false};
}

std::shared_ptr<const void> prepare(const ir::ForwardCtx& ctx) { return prepare_conv(ctx); }
}  // namespace

Kernel cpu_conv_f32_sparse_avx2() {
  Kernel k;
  k.name = "cpu_conv_f32_sparse_avx2";
  k.check_forward = [](const ir::ForwardCtx& ctx) { return check(ctx, false); };
  k.forward = [](ir::ForwardCtx& ctx) { forward(ctx, false); };
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

Kernel cpu_fused_conv_f32_sparse_avx2() {
  Kernel k;
  k.name = "cpu_fused_conv_f32_sparse_avx2";
  k.check_forward = [](const ir::ForwardCtx& ctx) { return check(ctx, true); };
  k.forward = [](ir::ForwardCtx& ctx) { forward(ctx, true); };
  k.prepare = prepare;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
