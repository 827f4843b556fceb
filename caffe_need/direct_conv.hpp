// caffe_need: a direct (no im2col) CPU convolution for the small layers of
// MTCNN: stride 1, no padding, no dilation, one group, float, output rows of at
// least 8 pixels.  Caffe's own path copies every input patch into a column
// buffer (im2col) and multiplies it with a GEMM whose M is the number of output
// channels (10, 16, 28, 32 ...): OpenBLAS runs such thin products at a fraction
// of the core's speed and the column buffer is k*k times the input.  Here each
// output row is computed in registers: a block of OCB output channels times
// 8*XV pixels, accumulated over (input channel, kernel row, kernel column), the
// input vector loaded once per OCB channels and each weight broadcast once per
// XV vectors.  Plain C++ with GCC vector types, compiled twice on x86: for
// AVX2+FMA and for the baseline (SSE2), chosen at run time.
//
// Sums run in (channel, kernel row, kernel column) order, with the bias as the
// starting value; with FMA each step rounds once.  The results therefore differ
// from the GEMM path's in the last bits (tests/test_caffe_need_fast_layers.py).
// No Caffe headers but simd_vectors.hpp; conv_layer.cpp decides when to use it.
#ifndef CAFFE_NEED_DIRECT_CONV_HPP_
#define CAFFE_NEED_DIRECT_CONV_HPP_

#include "caffe/layers/simd_vectors.hpp"

namespace caffe {
namespace direct_conv {

using simd::v8f;
using simd::load8;
using simd::store8;
using simd::splat;

// Output channels [0, OCB) of `weight`/`bias`/`out` (already offset to the
// block), output pixels [x, x + 8 * XV) of output row `y`.
template <int OCB, int XV>
CAFFE_NEED_INLINE void block(const float* in, int channels, int height, int width, int k,
    const float* weight, const float* bias, float* out, int out_plane, int out_width, int y,
    int x) {
  v8f acc[OCB][XV];
#pragma GCC unroll 8
  for (int o = 0; o < OCB; ++o) {
    const v8f b = splat(bias[o]);
#pragma GCC unroll 4
    for (int v = 0; v < XV; ++v) acc[o][v] = b;
  }
  const int kernel_dim = channels * k * k;
  const float* row = in + y * width + x;
  const float* w = weight;
  for (int c = 0; c < channels; ++c, row += height * width) {
    for (int kh = 0; kh < k; ++kh) {
      for (int kw = 0; kw < k; ++kw, ++w) {
        v8f xv[XV];
#pragma GCC unroll 4
        for (int v = 0; v < XV; ++v) xv[v] = load8(row + kh * width + kw + 8 * v);
#pragma GCC unroll 8
        for (int o = 0; o < OCB; ++o) {
          const v8f wo = splat(w[o * kernel_dim]);
#pragma GCC unroll 4
          for (int v = 0; v < XV; ++v) acc[o][v] += wo * xv[v];
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < OCB; ++o) {
#pragma GCC unroll 4
    for (int v = 0; v < XV; ++v) store8(out + o * out_plane + y * out_width + x + 8 * v, acc[o][v]);
  }
}

// One output row of OCB channels: 16-pixel blocks, then one 8-pixel block,
// then (if the width is not a multiple of 8) an 8-pixel block ending at the
// row's end, which recomputes a few pixels rather than fall back to scalars.
template <int OCB>
CAFFE_NEED_INLINE void row_of_channels(const float* in, int channels, int height, int width,
    int k, const float* weight, const float* bias, float* out, int out_plane, int out_width,
    int y) {
  int x = 0;
  for (; x + 16 <= out_width; x += 16)
    block<OCB, 2>(in, channels, height, width, k, weight, bias, out, out_plane, out_width, y, x);
  if (x + 8 <= out_width) {
    block<OCB, 1>(in, channels, height, width, k, weight, bias, out, out_plane, out_width, y, x);
    x += 8;
  }
  if (x < out_width)
    block<OCB, 1>(in, channels, height, width, k, weight, bias, out, out_plane, out_width, y,
        out_width - 8);
}

constexpr int kChannelBlock = 4;

// One image: in is channels x height x width, weight is
// out_channels x channels x k x k, bias has out_channels values, out is
// out_channels x (height-k+1) x (width-k+1), with width-k+1 >= 8.
CAFFE_NEED_INLINE void image(const float* in, int channels, int height, int width, int k,
    const float* weight, const float* bias, int out_channels, float* out) {
  const int out_height = height - k + 1, out_width = width - k + 1;
  const int out_plane = out_height * out_width, kernel_dim = channels * k * k;
  for (int y = 0; y < out_height; ++y) {
    // all channel blocks of one output row while its k input rows are in cache
    int o = 0;
    for (; o + kChannelBlock <= out_channels; o += kChannelBlock)
      row_of_channels<kChannelBlock>(in, channels, height, width, k, weight + o * kernel_dim,
          bias + o, out + o * out_plane, out_plane, out_width, y);
    const float* w = weight + o * kernel_dim;
    const float* b = bias + o;
    float* to = out + o * out_plane;
    switch (out_channels - o) {
      case 3: row_of_channels<3>(in, channels, height, width, k, w, b, to, out_plane, out_width, y); break;
      case 2: row_of_channels<2>(in, channels, height, width, k, w, b, to, out_plane, out_width, y); break;
      case 1: row_of_channels<1>(in, channels, height, width, k, w, b, to, out_plane, out_width, y); break;
      default: break;
    }
  }
}

inline void image_baseline(const float* in, int channels, int height, int width, int k,
    const float* weight, const float* bias, int out_channels, float* out) {
  image(in, channels, height, width, k, weight, bias, out_channels, out);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) inline void image_avx2(const float* in, int channels,
    int height, int width, int k, const float* weight, const float* bias, int out_channels,
    float* out) {
  image(in, channels, height, width, k, weight, bias, out_channels, out);
}
#endif

// The widest build this CPU runs, or the baseline one if asked (for tests).
inline void convolve(const float* in, int channels, int height, int width, int k,
    const float* weight, const float* bias, int out_channels, float* out, bool baseline) {
#if defined(__x86_64__) || defined(__i386__)
  if (simd::cpu_has_avx2_fma() && !baseline) {
    image_avx2(in, channels, height, width, k, weight, bias, out_channels, out);
    return;
  }
#endif
  image_baseline(in, channels, height, width, k, weight, bias, out_channels, out);
}

}  // namespace direct_conv
}  // namespace caffe

#endif  // CAFFE_NEED_DIRECT_CONV_HPP_
