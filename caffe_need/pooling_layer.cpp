// caffe_need: the stock BVLC pooling_layer.cpp (brocolli-caffe 9.0.2) with a faster
// MAX branch of Forward_cpu: the same output and argmax mask, and in TEST phase a
// values-only kernel (the argmax is recomputed if such a net runs backward), in
// AVX2 (max_pool_simd.hpp) for MTCNN's unpadded 3/2 and 2/2 windows
// (tests/test_caffe_need_fast_layers.py).  The build script copies it over the stock file.
#include <algorithm>
#include <cfloat>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "caffe/layers/pooling_layer.hpp"
#include "caffe/util/math_functions.hpp"
// GCC warns that 32-byte vectors are passed differently with AVX: the kernel
// passes none by value across a call (it is inlined into one function), so the
// warning does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "caffe/layers/max_pool_simd.hpp"

namespace caffe {

using std::min;
using std::max;

template <typename Dtype>
void PoolingLayer<Dtype>::LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  PoolingParameter pool_param = this->layer_param_.pooling_param();
  if (pool_param.global_pooling()) {
    CHECK(!(pool_param.has_kernel_size() ||
      pool_param.has_kernel_h() || pool_param.has_kernel_w()))
      << "With Global_pooling: true Filter size cannot specified";
  } else {
    CHECK(!pool_param.has_kernel_size() !=
      !(pool_param.has_kernel_h() && pool_param.has_kernel_w()))
      << "Filter size is kernel_size OR kernel_h and kernel_w; not both";
    CHECK(pool_param.has_kernel_size() ||
      (pool_param.has_kernel_h() && pool_param.has_kernel_w()))
      << "For non-square filters both kernel_h and kernel_w are required.";
  }
  CHECK((!pool_param.has_pad() && pool_param.has_pad_h()
      && pool_param.has_pad_w())
      || (!pool_param.has_pad_h() && !pool_param.has_pad_w()))
      << "pad is pad OR pad_h and pad_w are required.";
  CHECK((!pool_param.has_stride() && pool_param.has_stride_h()
      && pool_param.has_stride_w())
      || (!pool_param.has_stride_h() && !pool_param.has_stride_w()))
      << "Stride is stride OR stride_h and stride_w are required.";
  global_pooling_ = pool_param.global_pooling();
  ceil_mode_ = pool_param.ceil_mode();
  if (global_pooling_) {
    kernel_h_ = bottom[0]->height();
    kernel_w_ = bottom[0]->width();
  } else {
    if (pool_param.has_kernel_size()) {
      kernel_h_ = kernel_w_ = pool_param.kernel_size();
    } else {
      kernel_h_ = pool_param.kernel_h();
      kernel_w_ = pool_param.kernel_w();
    }
  }
  CHECK_GT(kernel_h_, 0) << "Filter dimensions cannot be zero.";
  CHECK_GT(kernel_w_, 0) << "Filter dimensions cannot be zero.";
  if (!pool_param.has_pad_h()) {
    pad_h_ = pad_w_ = pool_param.pad();
  } else {
    pad_h_ = pool_param.pad_h();
    pad_w_ = pool_param.pad_w();
  }
  if (!pool_param.has_stride_h()) {
    stride_h_ = stride_w_ = pool_param.stride();
  } else {
    stride_h_ = pool_param.stride_h();
    stride_w_ = pool_param.stride_w();
  }
  if (global_pooling_) {
    CHECK(pad_h_ == 0 && pad_w_ == 0 && stride_h_ == 1 && stride_w_ == 1)
      << "With Global_pooling: true; only pad = 0 and stride = 1";
  }
  if (pad_h_ != 0 || pad_w_ != 0) {
    CHECK(this->layer_param_.pooling_param().pool()
        == PoolingParameter_PoolMethod_AVE
        || this->layer_param_.pooling_param().pool()
        == PoolingParameter_PoolMethod_MAX)
        << "Padding implemented only for average and max pooling.";
    CHECK_LT(pad_h_, kernel_h_);
    CHECK_LT(pad_w_, kernel_w_);
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  CHECK_EQ(4, bottom[0]->num_axes()) << "Input must have 4 axes, "
      << "corresponding to (num, channels, height, width)";
  channels_ = bottom[0]->channels();
  height_ = bottom[0]->height();
  width_ = bottom[0]->width();
  if (global_pooling_) {
    kernel_h_ = bottom[0]->height();
    kernel_w_ = bottom[0]->width();
  }

  if (ceil_mode_) {
    pooled_height_ = static_cast<int>(ceil(static_cast<float>(
        height_ + 2 * pad_h_ - kernel_h_) / stride_h_)) + 1;
    pooled_width_ = static_cast<int>(ceil(static_cast<float>(
        width_ + 2 * pad_w_ - kernel_w_) / stride_w_)) + 1;
  } else {
    pooled_height_ = static_cast<int>(floor(static_cast<float>(
        height_ + 2 * pad_h_ - kernel_h_) / stride_h_)) + 1;
    pooled_width_ = static_cast<int>(floor(static_cast<float>(
        width_ + 2 * pad_w_ - kernel_w_) / stride_w_)) + 1;
  }

  if (pad_h_ || pad_w_) {
    // If we have padding, ensure that the last pooling starts strictly
    // inside the image (instead of at the padding); otherwise clip the last.
    if ((pooled_height_ - 1) * stride_h_ >= height_ + pad_h_) {
      --pooled_height_;
    }
    if ((pooled_width_ - 1) * stride_w_ >= width_ + pad_w_) {
      --pooled_width_;
    }
    CHECK_LT((pooled_height_ - 1) * stride_h_, height_ + pad_h_);
    CHECK_LT((pooled_width_ - 1) * stride_w_, width_ + pad_w_);
  }
  top[0]->Reshape(bottom[0]->num(), channels_, pooled_height_,
      pooled_width_);
  if (top.size() > 1) {
    top[1]->ReshapeLike(*top[0]);
  }
  // If max pooling, we will initialize the vector index part.
  if (this->layer_param_.pooling_param().pool() ==
      PoolingParameter_PoolMethod_MAX && top.size() == 1) {
    max_idx_.Reshape(bottom[0]->num(), channels_, pooled_height_,
        pooled_width_);
  }
  // If stochastic pooling, we will initialize the random index part.
  if (this->layer_param_.pooling_param().pool() ==
      PoolingParameter_PoolMethod_STOCHASTIC) {
    rand_idx_.Reshape(bottom[0]->num(), channels_, pooled_height_,
      pooled_width_);
  }
}

// caffe_need: MAX pooling of one channel plane, in two ways.
struct PoolGeometry {
  int height, width, pooled_height, pooled_width, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

// With the argmax: the stock loop's semantics (strict '>' from -FLT_MAX, so the
// first maximum wins and an all -FLT_MAX window keeps index -1), but the running
// maximum and its index live in locals and are stored once per output (the stock
// loop stored them into top_data / the mask on every improvement and, as both are
// Dtype*, reloaded top_data at every comparison).  mask or top_mask receives the index.
template <typename Dtype>
static void max_pool_plane_indexed(const PoolGeometry& g, const Dtype* in, Dtype* out, int* mask,
    Dtype* top_mask) {
  for (int ph = 0; ph < g.pooled_height; ++ph) {
    for (int pw = 0; pw < g.pooled_width; ++pw) {
      int hstart = ph * g.stride_h - g.pad_h;
      int wstart = pw * g.stride_w - g.pad_w;
      const int hend = min(hstart + g.kernel_h, g.height);
      const int wend = min(wstart + g.kernel_w, g.width);
      hstart = max(hstart, 0);
      wstart = max(wstart, 0);
      Dtype best = Dtype(-FLT_MAX);
      int best_index = -1;
      for (int h = hstart; h < hend; ++h) {
        const Dtype* row = in + h * g.width;
        for (int w = wstart; w < wend; ++w) {
          if (row[w] > best) {
            best = row[w];
            best_index = h * g.width + w;
          }
        }
      }
      const int pool_index = ph * g.pooled_width + pw;
      out[pool_index] = best;
      if (top_mask) {
        top_mask[pool_index] = static_cast<Dtype>(best_index);
      } else {
        mask[pool_index] = best_index;
      }
    }
  }
}

// acc[w] = max(acc[w], row[w]) with the same '>' as above; fixed-width blocks and
// restrict pointers so that GCC's -O2 vectoriser makes it SIMD (as prelu_plane).
template <typename Dtype>
static void running_max_row(const Dtype* __restrict__ row, Dtype* __restrict__ acc, const int width) {
  int w = 0;
  for (; w + 16 <= width; w += 16) {
    for (int j = 0; j < 16; ++j) {
      const Dtype x = row[w + j];
      acc[w + j] = x > acc[w + j] ? x : acc[w + j];
    }
  }
  for (; w < width; ++w) {
    const Dtype x = row[w];
    acc[w] = x > acc[w] ? x : acc[w];
  }
}

// Values only (what a TEST-phase net needs): per output row, the element-wise
// maximum of its window's input rows over the whole width (SIMD), then the maximum
// over each window's columns of that row: about a third of the comparisons, none
// of them a branch on data.  The same values as max_pool_plane_indexed (a zero may
// come out with the other sign, as '>' does not order signed zeros).
//
// The windows that lie wholly inside the row (no padding, not clipped at the end)
// take the loop below, with the kernel width and stride as constants for MTCNN's
// 3/2 and 2/2 pools: R-Net's and O-Net's planes are 22-46 px wide, so per window
// bound arithmetic was a large part of their pooling time.
template <typename Dtype, int K, int S>
static int max_pool_full_windows(const Dtype* acc, Dtype* out_row, const int count) {
  for (int pw = 0; pw < count; ++pw) {
    const Dtype* win = acc + pw * S;
    Dtype best = win[0];
    for (int k = 1; k < K; ++k) {
      best = win[k] > best ? win[k] : best;
    }
    out_row[pw] = best;
  }
  return count;
}

template <typename Dtype>
static void max_pool_plane_values(const PoolGeometry& g, const Dtype* in, Dtype* out, Dtype* acc) {
  // windows [0, full) start at 0 or later and end inside the row
  const int full = g.pad_w == 0 && g.width >= g.kernel_w ?
      min((g.width - g.kernel_w) / g.stride_w + 1, g.pooled_width) : 0;
  for (int ph = 0; ph < g.pooled_height; ++ph) {
    int hstart = ph * g.stride_h - g.pad_h;
    const int hend = min(hstart + g.kernel_h, g.height);
    hstart = max(hstart, 0);
    std::fill(acc, acc + g.width, Dtype(-FLT_MAX));
    for (int h = hstart; h < hend; ++h) {
      running_max_row(in + h * g.width, acc, g.width);
    }
    Dtype* out_row = out + ph * g.pooled_width;
    int pw = 0;
    if (g.kernel_w == 3 && g.stride_w == 2) {
      pw = max_pool_full_windows<Dtype, 3, 2>(acc, out_row, full);
    } else if (g.kernel_w == 2 && g.stride_w == 2) {
      pw = max_pool_full_windows<Dtype, 2, 2>(acc, out_row, full);
    }
    for (; pw < g.pooled_width; ++pw) {
      int wstart = pw * g.stride_w - g.pad_w;
      const int wend = min(wstart + g.kernel_w, g.width);
      wstart = max(wstart, 0);
      Dtype best = Dtype(-FLT_MAX);
      for (int w = wstart; w < wend; ++w) {
        best = acc[w] > best ? acc[w] : best;
      }
      out_row[pw] = best;
    }
  }
}

// caffe_need: max_pool_simd.hpp's kernel for a values-only plane, float only, where
// its geometry applies; CAFFE_NEED_SIMD_POOL=0 in the environment turns it off (to
// compare the two in one build: bench/mtcnn_layer_times.py, the tests).
template <typename Dtype>
struct SimdMaxPool {
  static bool applies(const PoolGeometry&) { return false; }
  static void plane(const PoolGeometry&, const Dtype*, Dtype*, float*) {}
};

template <>
struct SimdMaxPool<float> {
  static bool applies(const PoolGeometry& g) {
    const char* flag = std::getenv("CAFFE_NEED_SIMD_POOL");
    return !(flag && std::strcmp(flag, "0") == 0) &&
        max_pool_simd::applies(g.width, g.kernel_w, g.stride_w, g.pad_h, g.pad_w);
  }
  static void plane(const PoolGeometry& g, const float* in, float* out, float* scratch) {
    max_pool_simd::pool_plane(in, g.height, g.width, g.pooled_height, g.pooled_width, g.kernel_w,
        g.kernel_h, g.stride_h, out, scratch);
  }
};

// TODO(Yangqing): Is there a faster way to do pooling in the channel-first
// case?
template <typename Dtype>
void PoolingLayer<Dtype>::Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const Dtype* bottom_data = bottom[0]->cpu_data();
  Dtype* top_data = top[0]->mutable_cpu_data();
  const int top_count = top[0]->count();
  // We'll output the mask to top[1] if it's of size >1.
  const bool use_top_mask = top.size() > 1;
  int* mask = NULL;  // suppress warnings about uninitalized variables
  Dtype* top_mask = NULL;
  // Different pooling methods. We explicitly do the switch outside the for
  // loop to save time, although this results in more code.
  switch (this->layer_param_.pooling_param().pool()) {
  case PoolingParameter_PoolMethod_MAX: {
    // caffe_need: a TEST-phase net never reads the argmax in the forward pass, so it
    // gets the values-only kernel; Backward_cpu recomputes the argmax from the
    // bottom data if such a net is ever run backward.
    const PoolGeometry g = {height_, width_, pooled_height_, pooled_width_, kernel_h_, kernel_w_,
                            stride_h_, stride_w_, pad_h_, pad_w_};
    const bool values_only = !use_top_mask && this->phase_ == TEST;
    if (use_top_mask) {
      top_mask = top[1]->mutable_cpu_data();
    } else if (!values_only) {
      mask = max_idx_.mutable_cpu_data();
    }
    const bool simd = values_only && SimdMaxPool<Dtype>::applies(g);
    std::vector<Dtype> acc(values_only && !simd ? width_ : 0);
    std::vector<float> scratch(simd ? max_pool_simd::scratch_floats(pooled_height_, pooled_width_) : 0);
    const int plane = pooled_height_ * pooled_width_;
    for (int n = 0; n < bottom[0]->num(); ++n) {
      for (int c = 0; c < channels_; ++c) {
        if (simd) {
          SimdMaxPool<Dtype>::plane(g, bottom_data, top_data, scratch.data());
        } else if (values_only) {
          max_pool_plane_values(g, bottom_data, top_data, acc.data());
        } else {
          max_pool_plane_indexed(g, bottom_data, top_data, mask, top_mask);
          if (use_top_mask) {
            top_mask += plane;
          } else {
            mask += plane;
          }
        }
        bottom_data += bottom[0]->offset(0, 1);
        top_data += plane;
      }
    }
    break;
  }
  case PoolingParameter_PoolMethod_AVE:
    for (int i = 0; i < top_count; ++i) {
      top_data[i] = 0;
    }
    // The main loop
    for (int n = 0; n < bottom[0]->num(); ++n) {
      for (int c = 0; c < channels_; ++c) {
        for (int ph = 0; ph < pooled_height_; ++ph) {
          for (int pw = 0; pw < pooled_width_; ++pw) {
            int hstart = ph * stride_h_ - pad_h_;
            int wstart = pw * stride_w_ - pad_w_;
            int hend = min(hstart + kernel_h_, height_ + pad_h_);
            int wend = min(wstart + kernel_w_, width_ + pad_w_);
            int pool_size = (hend - hstart) * (wend - wstart);
            hstart = max(hstart, 0);
            wstart = max(wstart, 0);
            hend = min(hend, height_);
            wend = min(wend, width_);
            for (int h = hstart; h < hend; ++h) {
              for (int w = wstart; w < wend; ++w) {
                top_data[ph * pooled_width_ + pw] +=
                    bottom_data[h * width_ + w];
              }
            }
            top_data[ph * pooled_width_ + pw] /= pool_size;
          }
        }
        // compute offset
        bottom_data += bottom[0]->offset(0, 1);
        top_data += top[0]->offset(0, 1);
      }
    }
    break;
  case PoolingParameter_PoolMethod_STOCHASTIC:
    NOT_IMPLEMENTED;
    break;
  default:
    LOG(FATAL) << "Unknown pooling method.";
  }
}

template <typename Dtype>
void PoolingLayer<Dtype>::Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {
  if (!propagate_down[0]) {
    return;
  }
  const Dtype* top_diff = top[0]->cpu_diff();
  Dtype* bottom_diff = bottom[0]->mutable_cpu_diff();
  // Different pooling methods. We explicitly do the switch outside the for
  // loop to save time, although this results in more codes.
  caffe_set(bottom[0]->count(), Dtype(0), bottom_diff);
  // We'll output the mask to top[1] if it's of size >1.
  const bool use_top_mask = top.size() > 1;
  const int* mask = NULL;  // suppress warnings about uninitialized variables
  const Dtype* top_mask = NULL;
  switch (this->layer_param_.pooling_param().pool()) {
  case PoolingParameter_PoolMethod_MAX:
    // The main loop
    if (use_top_mask) {
      top_mask = top[1]->cpu_data();
    } else {
      if (this->phase_ == TEST) {
        // caffe_need: the TEST-phase forward kept no argmax (see Forward_cpu)
        const PoolGeometry g = {height_, width_, pooled_height_, pooled_width_, kernel_h_, kernel_w_,
                                stride_h_, stride_w_, pad_h_, pad_w_};
        const int plane = pooled_height_ * pooled_width_;
        std::vector<Dtype> values(plane);
        const Dtype* bottom_data = bottom[0]->cpu_data();
        int* recomputed = max_idx_.mutable_cpu_data();
        for (int i = 0; i < top[0]->num() * channels_; ++i) {
          max_pool_plane_indexed(g, bottom_data + i * height_ * width_, values.data(),
                                 recomputed + i * plane, static_cast<Dtype*>(NULL));
        }
      }
      mask = max_idx_.cpu_data();
    }
    for (int n = 0; n < top[0]->num(); ++n) {
      for (int c = 0; c < channels_; ++c) {
        for (int ph = 0; ph < pooled_height_; ++ph) {
          for (int pw = 0; pw < pooled_width_; ++pw) {
            const int index = ph * pooled_width_ + pw;
            const int bottom_index =
                use_top_mask ? top_mask[index] : mask[index];
            bottom_diff[bottom_index] += top_diff[index];
          }
        }
        bottom_diff += bottom[0]->offset(0, 1);
        top_diff += top[0]->offset(0, 1);
        if (use_top_mask) {
          top_mask += top[0]->offset(0, 1);
        } else {
          mask += top[0]->offset(0, 1);
        }
      }
    }
    break;
  case PoolingParameter_PoolMethod_AVE:
    // The main loop
    for (int n = 0; n < top[0]->num(); ++n) {
      for (int c = 0; c < channels_; ++c) {
        for (int ph = 0; ph < pooled_height_; ++ph) {
          for (int pw = 0; pw < pooled_width_; ++pw) {
            int hstart = ph * stride_h_ - pad_h_;
            int wstart = pw * stride_w_ - pad_w_;
            int hend = min(hstart + kernel_h_, height_ + pad_h_);
            int wend = min(wstart + kernel_w_, width_ + pad_w_);
            int pool_size = (hend - hstart) * (wend - wstart);
            hstart = max(hstart, 0);
            wstart = max(wstart, 0);
            hend = min(hend, height_);
            wend = min(wend, width_);
            for (int h = hstart; h < hend; ++h) {
              for (int w = wstart; w < wend; ++w) {
                bottom_diff[h * width_ + w] +=
                  top_diff[ph * pooled_width_ + pw] / pool_size;
              }
            }
          }
        }
        // offset
        bottom_diff += bottom[0]->offset(0, 1);
        top_diff += top[0]->offset(0, 1);
      }
    }
    break;
  case PoolingParameter_PoolMethod_STOCHASTIC:
    NOT_IMPLEMENTED;
    break;
  default:
    LOG(FATAL) << "Unknown pooling method.";
  }
}


#ifdef CPU_ONLY
STUB_GPU(PoolingLayer);
#endif

INSTANTIATE_CLASS(PoolingLayer);

}  // namespace caffe
