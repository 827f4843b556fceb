// caffe_need: the stock BVLC conv_layer.cpp (brocolli-caffe 9.0.2) with a direct
// CPU forward (direct_conv.hpp) for the convolutions MTCNN is made of: float,
// 2-D, one group, stride 1, no padding or dilation, a square kernel of 2 or more
// and output rows of at least kDirectMinWidth pixels.  Those went through im2col
// and a thin GEMM at 17-35 GFLOP/s and were 87% of P-Net's time.  The narrower ones
// of that geometry keep the GEMM, after an im2col by row copies (im2col_rows); every
// other convolution, and every backward pass, is the stock code.
// CAFFE_NEED_DIRECT_CONV=0 in the environment turns both off, back to the stock
// im2col + GEMM (to compare them in one build:
// bench/mtcnn_layer_times.py, tests/test_caffe_need_fast_layers.py), =baseline
// forces the kernel's SSE2 build on a CPU with AVX2 (tests).
// The build script copies it over the stock file.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "caffe/layers/conv_layer.hpp"
#include "caffe/util/math_functions.hpp"
// GCC warns that 32-byte vectors are passed differently with AVX: the kernel
// passes none by value across a call (all of it is inlined into one function
// per build), so the warning does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "caffe/layers/direct_conv.hpp"

namespace caffe {

template <typename Dtype>
void ConvolutionLayer<Dtype>::compute_output_shape() {
  const int* kernel_shape_data = this->kernel_shape_.cpu_data();
  const int* stride_data = this->stride_.cpu_data();
  const int* pad_data = this->pad_.cpu_data();
  const int* dilation_data = this->dilation_.cpu_data();
  this->output_shape_.clear();
  for (int i = 0; i < this->num_spatial_axes_; ++i) {
    // i + 1 to skip channel axis
    const int input_dim = this->input_shape(i + 1);
    const int kernel_extent = dilation_data[i] * (kernel_shape_data[i] - 1) + 1;
    const int output_dim = (input_dim + 2 * pad_data[i] - kernel_extent)
        / stride_data[i] + 1;
    this->output_shape_.push_back(output_dim);
  }
}

// caffe_need: on narrower outputs the GEMM path was as fast or faster: R-Net's
// and O-Net's later convolutions (22 pixels wide and less) run on batches of
// candidates, where the GEMM is wide enough (bench/mtcnn_layer_times.py times
// CAFFE_NEED_DIRECT_CONV=1 and 0 alternately; narrower bounds were slower when
// tried).  O-Net's first one (46 wide) is faster direct on an Intel Xeon: det3
// 34.6 against 37.3 ms per 64 candidates (on the AMD EPYC, at 48, the two had
// been even).  P-Net's pyramid levels are hundreds wide.
static const int kDirectMinWidth = 40;

static const char* direct_conv_flag() {
  const char* flag = std::getenv("CAFFE_NEED_DIRECT_CONV");
  return flag ? flag : "";
}

// Only float has a direct kernel.
template <typename Dtype>
struct DirectConv {
  static const bool available = false;
  static void convolve(const Dtype*, int, int, int, int, const Dtype*, const Dtype*, int, Dtype*,
      bool) {}
};

template <>
struct DirectConv<float> {
  static const bool available = true;
  static void convolve(const float* in, int channels, int height, int width, int k,
      const float* weight, const float* bias, int out_channels, float* out, bool baseline) {
    direct_conv::convolve(in, channels, height, width, k, weight, bias, out_channels, out,
        baseline);
  }
};

// caffe_need: im2col of a stride-1, unpadded, undilated 2-D convolution (every one
// of MTCNN's) as row copies: column-buffer row (c, ki, kj) holds, for each output
// row y, input row y + ki of channel c from column kj on.  The stock im2col_cpu
// bounds-checks every element, which cost about as much as the GEMM on R-Net's
// 22- and 9-pixel outputs.  The buffer is the one im2col_cpu would fill, bit for
// bit, and the GEMM after it is the stock one.
template <typename Dtype>
static void im2col_rows(const Dtype* image, int channels, int height, int width, int kh,
    int kw, Dtype* col) {
  const int out_h = height - kh + 1, out_w = width - kw + 1;
  for (int c = 0; c < channels; ++c) {
    const Dtype* plane = image + static_cast<size_t>(c) * height * width;
    for (int ki = 0; ki < kh; ++ki) {
      for (int kj = 0; kj < kw; ++kj) {
        for (int y = 0; y < out_h; ++y) {
          std::memcpy(col, plane + (y + ki) * width + kj, sizeof(Dtype) * out_w);
          col += out_w;
        }
      }
    }
  }
}

template <typename Dtype>
static std::vector<Dtype>& im2col_rows_buffer() {
  // one per thread: pycaffe nets in different threads forward at once
  static thread_local std::vector<Dtype> buffer;
  return buffer;
}

template <typename Dtype>
void ConvolutionLayer<Dtype>::Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const Dtype* weight = this->blobs_[0]->cpu_data();
  // caffe_need: the direct path, where the layer's geometry allows it
  const int* kernel = this->kernel_shape_.cpu_data();
  // stride 1, no padding or dilation, 2-D, one group: the direct kernel's geometry
  // (square kernels, wide outputs) and the row im2col's (the rest)
  bool plain = this->num_spatial_axes_ == 2 && this->group_ == 1 && !this->is_1x1_ &&
      std::strcmp(direct_conv_flag(), "0") != 0;
  for (int i = 0; plain && i < 2; ++i) {
    plain = this->stride_.cpu_data()[i] == 1 && this->pad_.cpu_data()[i] == 0 &&
        this->dilation_.cpu_data()[i] == 1;
  }
  const bool direct = plain && DirectConv<Dtype>::available && kernel[0] == kernel[1] &&
      kernel[0] >= 2 && this->output_shape_[1] >= kDirectMinWidth;
  if (plain && !direct) {
    const int height = this->input_shape(1), width = this->input_shape(2);
    const int out_dim = this->output_shape_[0] * this->output_shape_[1];
    const int kernel_dim = this->channels_ * kernel[0] * kernel[1];
    std::vector<Dtype>& col = im2col_rows_buffer<Dtype>();
    col.resize(static_cast<size_t>(kernel_dim) * out_dim);
    for (int i = 0; i < bottom.size(); ++i) {
      const Dtype* bottom_data = bottom[i]->cpu_data();
      Dtype* top_data = top[i]->mutable_cpu_data();
      for (int n = 0; n < this->num_; ++n) {
        im2col_rows(bottom_data + n * this->bottom_dim_, this->channels_, height, width,
            kernel[0], kernel[1], col.data());
        // the stock forward_cpu_gemm's product, on the same column buffer
        caffe_cpu_gemm<Dtype>(CblasNoTrans, CblasNoTrans, this->num_output_, out_dim,
            kernel_dim, Dtype(1), weight, col.data(), Dtype(0), top_data + n * this->top_dim_);
        if (this->bias_term_) {
          this->forward_cpu_bias(top_data + n * this->top_dim_, this->blobs_[1]->cpu_data());
        }
      }
    }
    return;
  }
  if (direct) {
    const bool baseline = std::strcmp(direct_conv_flag(), "baseline") == 0;
    // the kernel starts every sum from the bias; a bias-free layer from zeros
    const vector<Dtype> zeros(this->bias_term_ ? 0 : this->num_output_, Dtype(0));
    const Dtype* bias = this->bias_term_ ? this->blobs_[1]->cpu_data() : zeros.data();
    const int height = this->input_shape(1), width = this->input_shape(2);
    for (int i = 0; i < bottom.size(); ++i) {
      const Dtype* bottom_data = bottom[i]->cpu_data();
      Dtype* top_data = top[i]->mutable_cpu_data();
      for (int n = 0; n < this->num_; ++n) {
        DirectConv<Dtype>::convolve(bottom_data + n * this->bottom_dim_, this->channels_, height,
            width, kernel[0], weight, bias, this->num_output_, top_data + n * this->top_dim_,
            baseline);
      }
    }
    return;
  }
  for (int i = 0; i < bottom.size(); ++i) {
    const Dtype* bottom_data = bottom[i]->cpu_data();
    Dtype* top_data = top[i]->mutable_cpu_data();
    for (int n = 0; n < this->num_; ++n) {
      this->forward_cpu_gemm(bottom_data + n * this->bottom_dim_, weight,
          top_data + n * this->top_dim_);
      if (this->bias_term_) {
        const Dtype* bias = this->blobs_[1]->cpu_data();
        this->forward_cpu_bias(top_data + n * this->top_dim_, bias);
      }
    }
  }
}

template <typename Dtype>
void ConvolutionLayer<Dtype>::Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {
  const Dtype* weight = this->blobs_[0]->cpu_data();
  Dtype* weight_diff = this->blobs_[0]->mutable_cpu_diff();
  for (int i = 0; i < top.size(); ++i) {
    const Dtype* top_diff = top[i]->cpu_diff();
    const Dtype* bottom_data = bottom[i]->cpu_data();
    Dtype* bottom_diff = bottom[i]->mutable_cpu_diff();
    // Bias gradient, if necessary.
    if (this->bias_term_ && this->param_propagate_down_[1]) {
      Dtype* bias_diff = this->blobs_[1]->mutable_cpu_diff();
      for (int n = 0; n < this->num_; ++n) {
        this->backward_cpu_bias(bias_diff, top_diff + n * this->top_dim_);
      }
    }
    if (this->param_propagate_down_[0] || propagate_down[i]) {
      for (int n = 0; n < this->num_; ++n) {
        // gradient w.r.t. weight. Note that we will accumulate diffs.
        if (this->param_propagate_down_[0]) {
          this->weight_cpu_gemm(bottom_data + n * this->bottom_dim_,
              top_diff + n * this->top_dim_, weight_diff);
        }
        // gradient w.r.t. bottom data, if necessary.
        if (propagate_down[i]) {
          this->backward_cpu_gemm(top_diff + n * this->top_dim_, weight,
              bottom_diff + n * this->bottom_dim_);
        }
      }
    }
  }
}

#ifdef CPU_ONLY
STUB_GPU(ConvolutionLayer);
#endif

INSTANTIATE_CLASS(ConvolutionLayer);

}  // namespace caffe
