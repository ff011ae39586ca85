// ai.leancnn BinaryConv by XNOR-popcount (leancnn/ops/binary_conv.h), 3x3, 1x1, any stride,
// padding and dilation, and 2-D (fully connected). The signs of a patch (one output pixel's
// taps x input channels) are packed per kernel row in whole words, bit kx * ic + c of row ky's
// words = tap (ky, kx), channel c, 1 = +1 (patch_bit), so a 3x3 patch over 16 channels takes 3
// words, not 9 word-per-tap ones; the filters are packed the same way once (prepare) and stored
// transposed, word-major with the output channels in lanes
// (xnor_kernels.h), so a tile of patches meets them with no horizontal sums. Each sample's signs
// are packed per pixel ([iy][ix][ic / 64 words]), then laid out in zero-padded rows (bit
// ix * ic + c of padded row iy), from which a window's row is one run of kw * ic bits. A tap
// outside the input contributes zero bits to the patch, hence popcount(filter tap)
// disagreements, which are taken back per output pixel from its border pattern's per-channel
// counts (prepare), so that dot = ic * valid_taps - 2 * disagreements is the reference's exact
// integer and the output the same f32 expression (binary_conv_output).
#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <memory>

#include "leancnn/core/cpu.h"
#include "leancnn/ops/binary_conv.h"
#include "leancnn/ops/binary_net.h"
#include "xnor_kernels.h"

namespace leancnn::kernels::binary {
namespace {

struct PackedFilters {
  Shape src_shape;                // the input shape the geometry is for
  ops::ConvGeometry g;
  int64_t cw = 0;                 // 64-bit words per pixel of the packed input (channels / 64, rounded up)
  int64_t seg_words = 0;          // 64-bit words per kernel row of a patch (kw * ic bits, rounded up)
  int64_t words = 0;              // 64-bit words per patch: kh * seg_words
  int64_t ocp = 0;                // output channels rounded up to kOcBlock
  std::vector<uint64_t> bits;     // [words][ocp], patch bits of each filter, transposed
  std::vector<uint64_t> nibbles;  // AVX2 only: [words][2][ocp], bits' low and high nibbles
  std::vector<int32_t> tap_ones;  // [oc][kh * kw]: popcount of each filter tap
  std::vector<float> alpha, bias;
  // Per output pixel (oy * ow + ox): the bits inside the input (ic * taps inside), and the row
  // of `corr` to take back (-1: none, every tap inside).
  std::vector<int64_t> valid;
  std::vector<int32_t> corr_row;
  // Per distinct border pattern, [ocp]: the disagreements its outside taps add (the zero patch
  // bits against each filter's ones there).
  std::vector<int64_t> corr;
};

// A tap mask per output pixel needs kh * kw <= 64.
constexpr int64_t kMaxTaps = 64;

std::string check_weights(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() < 2 || !ctx.inputs[1].defined()) return "no weights";
  if (ctx.inputs[0].dtype() != DType::f32) return "input is not f32";
  std::vector<float> alpha;
  std::string why;
  if (!ops::binary_row_scales(ctx.inputs[1], alpha, &why)) return why;
  const Shape& ws = ctx.inputs[1].shape();
  if (ws.size() == 4 && ws[2] * ws[3] > kMaxTaps) return "kernel of more than 64 taps";
  return "";
}

// ORs the low `nbits` bits of v (the higher ones zero) into the bit string dst at bit `pos`.
inline void put_bits(uint64_t* dst, int64_t pos, uint64_t v, int64_t nbits) {
  const int64_t word = pos / 64, shift = pos % 64;
  dst[word] |= v << shift;
  if (shift != 0 && shift + nbits > 64) dst[word + 1] |= v >> (64 - shift);
}

// A patch holds each kernel row in whole words (seg_words of them): bit kx * ic + c of row ky's
// words is tap (ky, kx), channel c; the bits past kw * ic are 0. With ic a multiple of 64 this is
// the dense order t * ic + c; below, a row of a 3x3 window over 16 channels is one word.
inline int64_t patch_bit(int64_t ky, int64_t kx, int64_t c, int64_t ic, int64_t seg_words) {
  return ky * 64 * seg_words + kx * ic + c;
}

// The 64 bits of src from bit `bit` on (src needs 9 readable bytes from byte bit / 8).
inline uint64_t read_bits(const uint64_t* src, int64_t bit) {
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(src) + (bit >> 3);
  uint64_t v;
  std::memcpy(&v, bytes, 8);
  const int sh = static_cast<int>(bit & 7);
  return sh ? (v >> sh) | (static_cast<uint64_t>(bytes[8]) << (64 - sh)) : v;
}

// ORs the `n` bits of src from bit `sbit` on into dst from bit `dbit` on (dst's bits there
// zero), 64 at a time through read_bits (src needs 9 readable bytes past (sbit + n) / 8).
inline void copy_bits(uint64_t* dst, int64_t dbit, const uint64_t* src, int64_t sbit, int64_t n) {
  for (; n > 0; sbit += 64, dbit += 64, n -= 64) {
    const int64_t take = std::min<int64_t>(n, 64);
    const uint64_t v = read_bits(src, sbit);
    put_bits(dst, dbit, take == 64 ? v : v & ((uint64_t{1} << take) - 1), take);
  }
}

std::shared_ptr<PackedFilters> pack(const ir::ForwardCtx& ctx, bool nibbles) {
  auto p = std::make_shared<PackedFilters>();
  p->src_shape = ctx.inputs[0].shape();
  const Tensor w = ctx.inputs[1].is_contiguous() ? ctx.inputs[1] : ctx.inputs[1].clone();
  const ops::ConvGeometry& g = p->g = ops::binary_conv_geometry(ctx.node, ctx.inputs[0].shape(), w.shape());
  ops::binary_row_scales(w, p->alpha);
  const int64_t taps = g.kh * g.kw;
  p->cw = (g.ic + 63) / 64;
  p->seg_words = (g.kw * g.ic + 63) / 64;
  p->words = g.kh * p->seg_words;
  p->ocp = (g.oc + kOcBlock - 1) / kOcBlock * kOcBlock;
  p->bits.assign(static_cast<size_t>(p->words * p->ocp), 0);
  p->tap_ones.assign(static_cast<size_t>(g.oc * taps), 0);
  const float* wt = w.data<float>();
  std::vector<uint64_t> row(static_cast<size_t>(p->words));
  for (int64_t oc = 0; oc < g.oc; ++oc) {
    std::fill(row.begin(), row.end(), 0);
    for (int64_t ic = 0; ic < g.ic; ++ic)
      for (int64_t t = 0; t < taps; ++t)
        if (ops::sign_bit(wt[(oc * g.ic + ic) * taps + t])) {
          put_bits(row.data(), patch_bit(t / g.kw, t % g.kw, ic, g.ic, p->seg_words), 1, 1);
          ++p->tap_ones[static_cast<size_t>(oc * taps + t)];
        }
    for (int64_t k = 0; k < p->words; ++k) p->bits[static_cast<size_t>(k * p->ocp + oc)] = row[static_cast<size_t>(k)];
  }
  if (nibbles) {
    p->nibbles.resize(static_cast<size_t>(2 * p->words * p->ocp));
    for (int64_t k = 0; k < p->words; ++k)
      for (int64_t oc = 0; oc < p->ocp; ++oc) {
        const uint64_t b = p->bits[static_cast<size_t>(k * p->ocp + oc)];
        p->nibbles[static_cast<size_t>((2 * k) * p->ocp + oc)] = b & 0x0f0f0f0f0f0f0f0full;
        p->nibbles[static_cast<size_t>((2 * k + 1) * p->ocp + oc)] = (b >> 4) & 0x0f0f0f0f0f0f0f0full;
      }
  }
  // The border patterns, from the geometry alone.
  std::map<uint64_t, int32_t> rows;
  const int64_t pixels = g.oh * g.ow;
  p->valid.assign(static_cast<size_t>(pixels), 0);
  p->corr_row.assign(static_cast<size_t>(pixels), -1);
  for (int64_t q = 0; q < pixels; ++q) {
    const int64_t iy0 = (q / g.ow) * g.stride_h - g.pad_t, ix0 = (q % g.ow) * g.stride_w - g.pad_l;
    uint64_t mask = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t iy = iy0 + (t / g.kw) * g.dil_h, ix = ix0 + (t % g.kw) * g.dil_w;
      if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) mask |= uint64_t{1} << t;
    }
    const size_t qi = static_cast<size_t>(q);
    p->valid[qi] = g.ic * (taps - std::popcount(mask));
    if (mask == 0) continue;
    const auto [it, added] = rows.emplace(mask, static_cast<int32_t>(rows.size()));
    p->corr_row[qi] = it->second;
    if (!added) continue;
    p->corr.resize(p->corr.size() + static_cast<size_t>(p->ocp), 0);
    int64_t* back = p->corr.data() + static_cast<int64_t>(it->second) * p->ocp;
    for (int64_t t = 0; t < taps; ++t)
      if (mask >> t & 1)
        for (int64_t oc = 0; oc < g.oc; ++oc) back[oc] += p->tap_ones[static_cast<size_t>(oc * taps + t)];
  }
  p->alpha.resize(static_cast<size_t>(p->ocp), 0.f);  // padded channels: outputs computed, never stored
  p->bias.assign(static_cast<size_t>(p->ocp), 0.f);
  if (ctx.inputs.size() > 2 && ctx.inputs[2].defined()) {
    const Tensor b = ctx.inputs[2].clone();
    std::copy(b.data<float>(), b.data<float>() + g.oc, p->bias.begin());
  }
  return p;
}

void run(ir::ForwardCtx& ctx, PackSigns pack_fn, XorPopcountTile tile_fn, MeanAbs mean_abs, bool nibbles) {
  std::shared_ptr<PackedFilters> own;
  const PackedFilters* pf = static_cast<const PackedFilters*>(ctx.prepared);
  if (!pf || pf->src_shape != ctx.inputs[0].shape() || (nibbles && pf->nibbles.empty())) {
    own = pack(ctx, nibbles);
    pf = own.get();
  }
  const ops::ConvGeometry& g = pf->g;
  const int64_t n_batch = ctx.inputs[0].shape()[0];
  const Tensor x = ctx.inputs[0].is_contiguous() ? ctx.inputs[0] : ctx.inputs[0].clone();
  const bool scaled = ops::parse_act_scale(ctx.node, "input_scale") == ops::ActScale::mean_abs;
  const int64_t cw = pf->cw, words = pf->words, ocp = pf->ocp, plane = g.ih * g.iw,
                image = g.ic * plane;
  // The signs, zero-padded: row r of xr holds padded input row r (r - pad_t of the input),
  // bit (ix * ic + c) = padded column ix, channel c; a tap outside the input reads zeros there,
  // and a window's row is one run of kw * ic bits (dilation 1). With ic a multiple of 64 the
  // runs are whole words.
  const int64_t pw = g.iw + g.pad_l + g.pad_r, ph = g.ih + g.pad_t + g.pad_b;
  const int64_t row_words = (pw * g.ic + 63) / 64;
  std::vector<uint64_t> xb(static_cast<size_t>(plane * cw));
  std::vector<uint64_t> xr(static_cast<size_t>(ph * row_words + 2));  // +2: reads of 8 and 9 bytes
  const int64_t seg_words = pf->seg_words, last_bits = g.kw * g.ic - 64 * (seg_words - 1);
  const uint64_t last_mask = last_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << last_bits) - 1;
  float* dst = ctx.outputs[0].data<float>();
  const int64_t pixels = g.oh * g.ow, tiles = (pixels + kTilePixels - 1) / kTilePixels;
  const int threads = tiles > 1 ? num_threads() : 1;
  const bool whole_words = g.ic % 64 == 0;
  for (int64_t n = 0; n < n_batch; ++n) {
    const float* src = x.data<float>() + n * image;
    const float beta = scaled ? mean_abs(src, image) : 1.f;  // = ops::mean_abs_scale, bit for bit
    std::fill(xb.begin(), xb.end(), 0);
    pack_fn(src, g.ic, plane, cw, xb.data());
    for (int64_t iy = 0; iy < g.ih; ++iy) {
      uint64_t* row = xr.data() + (iy + g.pad_t) * row_words;
      const uint64_t* px = xb.data() + iy * g.iw * cw;
      if (whole_words) {
        std::copy(px, px + g.iw * cw, row + g.pad_l * cw);
        continue;
      }
      // Appended in order through one word of carry: each word of the row written once.
      const int64_t start = g.pad_l * g.ic;
      int64_t w = start / 64, fill = start % 64;  // the bits below `fill` are padding (0)
      uint64_t cur = 0;
      for (int64_t ix = 0; ix < g.iw; ++ix, px += cw)
        for (int64_t j = 0; j < cw; ++j) {
          const uint64_t v = px[j];
          const int64_t nb = std::min<int64_t>(64, g.ic - 64 * j);
          cur |= v << fill;
          if (fill + nb < 64) {
            fill += nb;
            continue;
          }
          row[w++] = cur;
          cur = fill ? v >> (64 - fill) : 0;
          fill += nb - 64;
        }
      if (fill) row[w] = cur;
    }
    float* out = dst + n * g.oc * pixels;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      std::vector<uint64_t> patches(static_cast<size_t>(kTilePixels * words));
      // Tiles of kTilePixels consecutive output pixels in raster order (across rows), so every
      // tile but the last is full and its outputs are consecutive in each channel's plane.
#pragma omp for schedule(static)
      for (int64_t tile = 0; tile < tiles; ++tile) {
        const int64_t q0 = tile * kTilePixels, np = std::min(kTilePixels, pixels - q0);
        TileArgs a{patches.data(), np, pf->bits.data(), pf->nibbles.empty() ? nullptr : pf->nibbles.data(), words, ocp, {},
                   pf->valid.data() + q0, pf->alpha.data(), pf->bias.data(), beta, out + q0, pixels, g.oc};
        if (g.dil_w != 1) std::fill(patches.begin(), patches.begin() + np * words, 0);  // copy_bits ORs in
        for (int64_t p = 0; p < np; ++p) {
          const int64_t q = q0 + p, oy = q / g.ow, ox = q % g.ow;
          uint64_t* patch = patches.data() + p * words;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const uint64_t* row = xr.data() + (oy * g.stride_h + ky * g.dil_h) * row_words;
            uint64_t* seg = patch + ky * seg_words;
            if (g.dil_w == 1 && whole_words) {  // kw * cw whole words
              std::copy_n(row + ox * g.stride_w * cw, seg_words, seg);
            } else if (g.dil_w == 1) {  // kw * ic bits from one bit offset, word by word
              const int64_t at = ox * g.stride_w * g.ic;
              for (int64_t j = 0; j + 1 < seg_words; ++j) seg[j] = read_bits(row, at + 64 * j);
              seg[seg_words - 1] = read_bits(row, at + 64 * (seg_words - 1)) & last_mask;
            } else {
              for (int64_t kx = 0; kx < g.kw; ++kx)
                copy_bits(patch, patch_bit(ky, kx, 0, g.ic, seg_words), row, (ox * g.stride_w + kx * g.dil_w) * g.ic, g.ic);
            }
          }
          const int32_t r = pf->corr_row[static_cast<size_t>(q)];
          if (r >= 0) a.outside[p] = pf->corr.data() + static_cast<int64_t>(r) * ocp;
        }
        tile_fn(a);
      }
    }
  }
}

std::shared_ptr<const void> prepare_avx512(const ir::ForwardCtx& ctx) { return pack(ctx, false); }
std::shared_ptr<const void> prepare_avx2(const ir::ForwardCtx& ctx) { return pack(ctx, true); }

std::string check_avx512(const ir::ForwardCtx& ctx) {
  const CpuFeatures& f = cpu_features();
  if (!f.avx512f || !f.avx512vpopcntdq) return "no AVX-512 VPOPCNTDQ on this CPU (or capped)";
  return check_weights(ctx);
}
std::string check_avx2(const ir::ForwardCtx& ctx) {
  if (!cpu_features().avx2) return "no AVX2 on this CPU";
  return check_weights(ctx);
}
void forward_avx512(ir::ForwardCtx& ctx) { run(ctx, pack_signs_avx512, xor_popcount_tile_avx512, mean_abs_avx512, false); }
void forward_avx2(ir::ForwardCtx& ctx) { run(ctx, pack_signs_avx2, xor_popcount_tile_avx2, mean_abs_avx2, true); }

}  // namespace

Kernel cpu_binary_conv_b1_avx512() {
  return {"cpu_binary_conv_b1_avx512", check_avx512, forward_avx512, nullptr, nullptr, prepare_avx512, nullptr};
}
Kernel cpu_binary_conv_b1_avx2() {
  return {"cpu_binary_conv_b1_avx2", check_avx2, forward_avx2, nullptr, nullptr, prepare_avx2, nullptr};
}

}  // namespace leancnn::kernels::binary
