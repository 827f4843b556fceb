#ifndef CAFFE_CONV_DW_LAYER_HPP_
#define CAFFE_CONV_DW_LAYER_HPP_

#include <vector>

#include "caffe/blob.hpp"
#include "caffe/layer.hpp"
#include "caffe/proto/caffe.pb.h"

namespace caffe {

/**
 * @brief Depthwise 2-D convolution: every input channel is convolved with its
 *        own kernel (MobileNet's 3x3 depthwise step).
 *
 * Reads convolution_param like Convolution: num_output must equal the number
 * of input channels; group may be left out or set to that number (so the same
 * prototxt loads in tools that only know Convolution).  Any kernel, stride,
 * pad and dilation; bias on or off.  Blobs have the same layout as a stock
 * Convolution with group == channels: weights C x 1 x KH x KW, bias C, so
 * weights move between the two unchanged.
 *
 * Stock group convolution runs one im2col + GEMM per channel; here each
 * output is a direct KH x KW sum, which is what makes depthwise cheap.
 */
template <typename Dtype>
class ConvolutionDepthwiseLayer : public Layer<Dtype> {
 public:
  explicit ConvolutionDepthwiseLayer(const LayerParameter& param)
      : Layer<Dtype>(param) {}
  virtual void LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);

  virtual inline const char* type() const { return "ConvolutionDepthwise"; }
  virtual inline int ExactNumBottomBlobs() const { return 1; }
  virtual inline int ExactNumTopBlobs() const { return 1; }

 protected:
  virtual void Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Forward_gpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);
  virtual void Backward_gpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);

  int channels_;
  int kernel_h_, kernel_w_;
  int stride_h_, stride_w_;
  int pad_h_, pad_w_;
  int dilation_h_, dilation_w_;
  int height_, width_;
  int top_height_, top_width_;
  bool bias_term_;
};

}  // namespace caffe

#endif  // CAFFE_CONV_DW_LAYER_HPP_
