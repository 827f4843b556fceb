#include <algorithm>
#include <vector>

#include "caffe/filler.hpp"
#include "caffe/layers/conv_dw_layer.hpp"
#include "caffe/util/math_functions.hpp"

namespace caffe {

namespace {

// A 2-D size given as a repeated field (one value for both axes, or h then w)
// or as the explicit _h/_w pair, read as Convolution reads it.
void read_hw(const google::protobuf::RepeatedField<uint32_t>& values,
             bool has_hw, int h, int w, int dflt, int* out_h, int* out_w) {
  if (has_hw) {
    *out_h = h; *out_w = w;
  } else if (values.size() == 0) {
    *out_h = *out_w = dflt;
  } else {
    *out_h = values.Get(0);
    *out_w = values.Get(values.size() - 1);
  }
}

// Output positions o in [lo, hi) read an input index o * stride + offset that
// lies in [0, size): the loops below then need no per-pixel bound checks.
inline void valid_range(int size, int out_size, int stride, int offset,
                        int* lo, int* hi) {
  // o * stride + offset >= 0
  int l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // o * stride + offset <= size - 1
  int last = size - 1 - offset;
  int h = last < 0 ? 0 : last / stride + 1;
  *lo = std::min(l, out_size);
  *hi = std::max(*lo, std::min(h, out_size));
}

}  // namespace

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::LayerSetUp(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  const ConvolutionParameter& p = this->layer_param_.convolution_param();
  CHECK_EQ(bottom[0]->num_axes(), 4)
      << "ConvolutionDepthwise takes N x C x H x W input";
  channels_ = bottom[0]->channels();
  CHECK_EQ(p.num_output(), channels_) << this->layer_param_.name()
      << ": ConvolutionDepthwise needs num_output == input channels";
  CHECK(!p.has_group() || p.group() == static_cast<unsigned>(channels_))
      << this->layer_param_.name() << ": group must be unset or == channels";
  CHECK_LE(p.kernel_size_size(), 2);
  CHECK_LE(p.stride_size(), 2);
  CHECK_LE(p.pad_size(), 2);
  CHECK_LE(p.dilation_size(), 2);
  CHECK(p.kernel_size_size() > 0 || (p.has_kernel_h() && p.has_kernel_w()))
      << "kernel_size or kernel_h and kernel_w required";
  read_hw(p.kernel_size(), p.has_kernel_h() && p.has_kernel_w(), p.kernel_h(),
          p.kernel_w(), 0, &kernel_h_, &kernel_w_);
  read_hw(p.stride(), p.has_stride_h() || p.has_stride_w(), p.stride_h(),
          p.stride_w(), 1, &stride_h_, &stride_w_);
  read_hw(p.pad(), p.has_pad_h() || p.has_pad_w(), p.pad_h(), p.pad_w(), 0,
          &pad_h_, &pad_w_);
  read_hw(p.dilation(), false, 0, 0, 1, &dilation_h_, &dilation_w_);
  CHECK_GT(kernel_h_, 0); CHECK_GT(kernel_w_, 0);
  CHECK_GT(stride_h_, 0); CHECK_GT(stride_w_, 0);
  CHECK_GT(dilation_h_, 0); CHECK_GT(dilation_w_, 0);
  bias_term_ = p.bias_term();

  if (this->blobs_.size() > 0) {
    LOG(INFO) << "Skipping parameter initialization";
  } else {
    this->blobs_.resize(bias_term_ ? 2 : 1);
    vector<int> weight_shape(4);
    weight_shape[0] = channels_;
    weight_shape[1] = 1;
    weight_shape[2] = kernel_h_;
    weight_shape[3] = kernel_w_;
    this->blobs_[0].reset(new Blob<Dtype>(weight_shape));
    shared_ptr<Filler<Dtype> > weight_filler(GetFiller<Dtype>(p.weight_filler()));
    weight_filler->Fill(this->blobs_[0].get());
    if (bias_term_) {
      vector<int> bias_shape(1, channels_);
      this->blobs_[1].reset(new Blob<Dtype>(bias_shape));
      shared_ptr<Filler<Dtype> > bias_filler(GetFiller<Dtype>(p.bias_filler()));
      bias_filler->Fill(this->blobs_[1].get());
    }
  }
  this->param_propagate_down_.resize(this->blobs_.size(), true);
}

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::Reshape(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  CHECK_EQ(bottom[0]->channels(), channels_)
      << "ConvolutionDepthwise input channels changed after setup";
  height_ = bottom[0]->height();
  width_ = bottom[0]->width();
  const int ext_h = dilation_h_ * (kernel_h_ - 1) + 1;
  const int ext_w = dilation_w_ * (kernel_w_ - 1) + 1;
  top_height_ = (height_ + 2 * pad_h_ - ext_h) / stride_h_ + 1;
  top_width_ = (width_ + 2 * pad_w_ - ext_w) / stride_w_ + 1;
  CHECK_GT(top_height_, 0) << this->layer_param_.name() << ": input too small";
  CHECK_GT(top_width_, 0) << this->layer_param_.name() << ": input too small";
  top[0]->Reshape(bottom[0]->num(), channels_, top_height_, top_width_);
}

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::Forward_cpu(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  const Dtype* in = bottom[0]->cpu_data();
  const Dtype* weight = this->blobs_[0]->cpu_data();
  const Dtype* bias = bias_term_ ? this->blobs_[1]->cpu_data() : NULL;
  Dtype* out = top[0]->mutable_cpu_data();
  const int num = bottom[0]->num();
  const int in_plane = height_ * width_;
  const int out_plane = top_height_ * top_width_;
  for (int n = 0; n < num; ++n) {
    for (int c = 0; c < channels_; ++c) {
      const Dtype* src = in + (n * channels_ + c) * in_plane;
      Dtype* dst = out + (n * channels_ + c) * out_plane;
      caffe_set(out_plane, bias ? bias[c] : Dtype(0), dst);
      const Dtype* w = weight + c * kernel_h_ * kernel_w_;
      for (int kh = 0; kh < kernel_h_; ++kh) {
        const int off_h = kh * dilation_h_ - pad_h_;
        int oh0, oh1;
        valid_range(height_, top_height_, stride_h_, off_h, &oh0, &oh1);
        for (int kw = 0; kw < kernel_w_; ++kw) {
          const int off_w = kw * dilation_w_ - pad_w_;
          int ow0, ow1;
          valid_range(width_, top_width_, stride_w_, off_w, &ow0, &ow1);
          const Dtype wv = w[kh * kernel_w_ + kw];
          for (int oh = oh0; oh < oh1; ++oh) {
            const Dtype* row = src + (oh * stride_h_ + off_h) * width_ + off_w;
            Dtype* orow = dst + oh * top_width_;
            for (int ow = ow0; ow < ow1; ++ow) {
              orow[ow] += wv * row[ow * stride_w_];
            }
          }
        }
      }
    }
  }
}

template <typename Dtype>
void ConvolutionDepthwiseLayer<Dtype>::Backward_cpu(
    const vector<Blob<Dtype>*>& top, const vector<bool>& propagate_down,
    const vector<Blob<Dtype>*>& bottom) {
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* in = bottom[0]->cpu_data();
  const Dtype* weight = this->blobs_[0]->cpu_data();
  const int num = bottom[0]->num();
  const int in_plane = height_ * width_;
  const int out_plane = top_height_ * top_width_;
  const bool do_weight = this->param_propagate_down_[0];
  const bool do_bias = bias_term_ && this->param_propagate_down_[1];
  const bool do_bottom = propagate_down[0];
  Dtype* weight_diff = do_weight ? this->blobs_[0]->mutable_cpu_diff() : NULL;
  Dtype* bias_diff = do_bias ? this->blobs_[1]->mutable_cpu_diff() : NULL;
  Dtype* bottom_diff = NULL;
  if (do_bottom) {
    bottom_diff = bottom[0]->mutable_cpu_diff();
    caffe_set(bottom[0]->count(), Dtype(0), bottom_diff);
  }
  for (int n = 0; n < num; ++n) {
    for (int c = 0; c < channels_; ++c) {
      const Dtype* src = in + (n * channels_ + c) * in_plane;
      const Dtype* tdiff = top_diff + (n * channels_ + c) * out_plane;
      if (do_bias) {
        Dtype s = 0;
        for (int i = 0; i < out_plane; ++i) s += tdiff[i];
        bias_diff[c] += s;  // Caffe accumulates parameter gradients
      }
      if (!do_weight && !do_bottom) continue;
      Dtype* bdiff = do_bottom ? bottom_diff + (n * channels_ + c) * in_plane : NULL;
      const Dtype* w = weight + c * kernel_h_ * kernel_w_;
      Dtype* wdiff = do_weight ? weight_diff + c * kernel_h_ * kernel_w_ : NULL;
      for (int kh = 0; kh < kernel_h_; ++kh) {
        const int off_h = kh * dilation_h_ - pad_h_;
        int oh0, oh1;
        valid_range(height_, top_height_, stride_h_, off_h, &oh0, &oh1);
        for (int kw = 0; kw < kernel_w_; ++kw) {
          const int off_w = kw * dilation_w_ - pad_w_;
          int ow0, ow1;
          valid_range(width_, top_width_, stride_w_, off_w, &ow0, &ow1);
          const Dtype wv = w[kh * kernel_w_ + kw];
          Dtype wsum = 0;
          for (int oh = oh0; oh < oh1; ++oh) {
            const int base = (oh * stride_h_ + off_h) * width_ + off_w;
            const Dtype* trow = tdiff + oh * top_width_;
            if (do_weight) {
              const Dtype* row = src + base;
              for (int ow = ow0; ow < ow1; ++ow) wsum += trow[ow] * row[ow * stride_w_];
            }
            if (do_bottom) {
              Dtype* brow = bdiff + base;
              for (int ow = ow0; ow < ow1; ++ow) brow[ow * stride_w_] += wv * trow[ow];
            }
          }
          if (do_weight) wdiff[kh * kernel_w_ + kw] += wsum;
        }
      }
    }
  }
}

#ifdef CPU_ONLY
STUB_GPU(ConvolutionDepthwiseLayer);
#endif

INSTANTIATE_CLASS(ConvolutionDepthwiseLayer);
REGISTER_LAYER_CLASS(ConvolutionDepthwise);

}  // namespace caffe
