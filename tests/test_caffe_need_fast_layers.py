"""caffe_need's faster CPU forwards of three stock layers against their
definitions.  Convolution: the direct kernel (direct_conv.hpp) that takes
MTCNN's stride-1, unpadded convolutions with wide outputs, against a float64
reference and against the stock im2col + GEMM path of the same net
(CAFFE_NEED_DIRECT_CONV=0); every other geometry gives that path's bits (the
narrower stride-1 unpadded ones through caffe_need's im2col by row copies).
PReLU and max pooling, exactly: PReLU as
max(x, 0) + slope * min(x, 0) per channel (shared or not, in place or not;
equal values, where a zero output may differ from the stock loop's in its
sign, as SIMD max/min treat -0.0 and +0.0 alike);
MAX pooling with Caffe's ceil-mode output size and padding, the first maximum
of each window (row-major) as the argmax mask, which the backward pass routes
the gradient through.  A TEST-phase MAX pooling with no mask top computes the
values only (another kernel) and recomputes the argmax if run backward; a
TRAIN-phase one keeps the argmax in the forward pass: both are checked.  The
layers' backward passes are otherwise the stock ones; a finite-difference check
confirms PReLU's still agrees with the new forward."""
import numpy as np
import pytest


def make_net(caffe, tmp_path, shape, body, name="net", phase="TEST"):
    dims = " ".join(f"dim: {d}" for d in shape)
    text = f"""force_backward: true
layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}
{body}"""
    path = tmp_path / f"{name}.prototxt"
    path.write_text(text)
    return caffe.Net(str(path), getattr(caffe, phase))


def assert_gradient_matches_differences(loss, x, grad, rng, count, rtol, step=1e-2):
    """Central differences of loss() at `count` random elements of x against grad."""
    for i in rng.choice(x.size, count, replace=False):
        xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
        xp[i] += step
        xm[i] -= step
        numeric = (loss(xp.reshape(x.shape)) - loss(xm.reshape(x.shape))) / (2 * step)
        assert abs(numeric - grad.reshape(-1)[i]) <= rtol * max(1.0, abs(numeric))


def prelu_body(inplace, shared):
    top = "data" if inplace else "out"
    return f"""layer {{ name: "prelu" type: "PReLU" bottom: "data" top: "{top}"
  prelu_param {{ channel_shared: {str(shared).lower()} }} }}"""


def real_activations(rng, shape):
    """Mixed signs, exact zeros and negative zeros, as conv outputs have."""
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 10, replace=False)] = 0.0
    flat[rng.choice(flat.size, flat.size // 20, replace=False)] = -0.0
    return x


# (N, C, H, W): plane sizes below, at and above the 16-element blocks, and not multiples of them
PRELU_SHAPES = [(1, 3, 1, 5), (2, 4, 4, 4), (3, 5, 7, 9), (1, 10, 45, 61), (2, 2, 1, 33)]


@pytest.mark.parametrize("shape", PRELU_SHAPES)
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("shared", [False, True])
def test_prelu_forward_matches_definition_exactly(caffe, tmp_path, rng, shape, inplace, shared):
    net = make_net(caffe, tmp_path, shape, prelu_body(inplace, shared))
    slopes = net.params["prelu"][0].data
    slopes[...] = rng.uniform(-0.5, 1.5, slopes.shape).astype(np.float32)
    x = real_activations(rng, shape)
    net.blobs["data"].data[...] = x
    net.forward()
    top = net.blobs["data" if inplace else "out"].data
    s = (np.full(shape[1], slopes.reshape(-1)[0]) if shared else slopes).astype(np.float32)[None, :, None, None]
    want = np.maximum(x, np.float32(0)) + s * np.minimum(x, np.float32(0))
    assert top.dtype == np.float32
    np.testing.assert_array_equal(top, want)     # exact float equality (-0.0 == 0.0)
    nonzero = want != 0
    np.testing.assert_array_equal(top.view(np.uint32)[nonzero], want.view(np.uint32)[nonzero])


@pytest.mark.parametrize("inplace", [False, True])
def test_prelu_gradients_still_agree_with_forward(caffe, tmp_path, rng, inplace):
    shape = (2, 3, 5, 7)
    net = make_net(caffe, tmp_path, shape, prelu_body(inplace, False))
    top_name = "data" if inplace else "out"
    net.params["prelu"][0].data[...] = [0.25, -0.3, 0.8]
    x = rng.standard_normal(shape).astype(np.float32)
    x[np.abs(x) < 0.05] = 0.3    # away from the kink, where the numeric derivative is exact
    r = rng.standard_normal(shape).astype(np.float32)

    def forward(xv):
        net.blobs["data"].data[...] = xv
        net.forward()
        return float((net.blobs[top_name].data.astype(np.float64) * r).sum())

    forward(x)
    net.params["prelu"][0].diff[...] = 0
    net.blobs[top_name].diff[...] = r
    net.backward()
    dx, dslope = net.blobs["data"].diff.copy(), net.params["prelu"][0].diff.copy()
    # analytic: dL/dx = r * (1 if x > 0 else slope); dL/dslope_c = sum over c of r * min(x, 0)
    s = np.array([0.25, -0.3, 0.8], np.float32)[None, :, None, None]
    np.testing.assert_allclose(dx, r * np.where(x > 0, 1, s), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dslope, (r * np.minimum(x, 0)).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert_gradient_matches_differences(forward, x, dx, rng, 10, 1e-2)


def pool_reference(x, k, s, p, ceil_mode=True):
    """Caffe's MAX pooling: ceil-mode output (floor with ceil_mode=False), padding,
    the last window starting inside the (unpadded + pad) image, first maximum in
    row-major order.  k, s: a number, or (height, width) for non-square windows
    and strides."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = np.broadcast_to(k, 2), np.broadcast_to(s, 2)
    rounding = np.ceil if ceil_mode else np.floor
    ph_n = int(rounding((h + 2 * p - kh) / sh)) + 1
    pw_n = int(rounding((w + 2 * p - kw) / sw)) + 1
    if p:
        ph_n -= (ph_n - 1) * sh >= h + p
        pw_n -= (pw_n - 1) * sw >= w + p
    top = np.full((n, c, ph_n, pw_n), -np.finfo(np.float32).max, np.float32)
    mask = np.full((n, c, ph_n, pw_n), -1, np.int64)
    for ph in range(ph_n):
        for pw in range(pw_n):
            h0, w0 = ph * sh - p, pw * sw - p
            h1, w1 = min(h0 + kh, h), min(w0 + kw, w)
            h0, w0 = max(h0, 0), max(w0, 0)
            win = x[:, :, h0:h1, w0:w1].reshape(n, c, -1)
            arg = win.argmax(axis=2)              # numpy: the first maximum
            top[:, :, ph, pw] = np.take_along_axis(win, arg[..., None], 2)[..., 0]
            mask[:, :, ph, pw] = (h0 + arg // (w1 - w0)) * w + w0 + arg % (w1 - w0)
    return top, mask


# (N, C, H, W, kernel, stride, pad): MTCNN's 3/2 and 2/2 pools on odd and even sizes, padding, overlap
# and widths at and around the values-only kernel's 16-wide blocks
POOL_CASES = [(1, 2, 9, 9, 3, 2, 0), (2, 3, 10, 7, 3, 2, 0), (1, 4, 11, 12, 2, 2, 0),
              (2, 2, 8, 8, 3, 2, 1), (1, 3, 7, 5, 3, 1, 1), (1, 10, 45, 61, 3, 2, 0),
              (2, 3, 6, 16, 3, 2, 0), (1, 2, 5, 33, 3, 2, 1), (3, 28, 22, 22, 3, 2, 0)]


def pooled(caffe, tmp_path, rng, case, mask_top, phase="TEST"):
    """A MAX Pooling net (with the argmax as a second top if mask_top) run on
    coarse values: many ties inside windows, so "the first maximum" is exercised.
    -> net, the reference output and the reference argmax."""
    n, c, h, w, k, s, p = case
    extra = ' top: "mask"' if mask_top else ""
    body = f"""layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool"{extra}
  pooling_param {{ pool: MAX kernel_size: {k} stride: {s} pad: {p} }} }}"""
    net = make_net(caffe, tmp_path, (n, c, h, w), body, phase=phase)
    x = rng.integers(-3, 4, (n, c, h, w)).astype(np.float32)
    net.blobs["data"].data[...] = x
    net.forward()
    return (net, *pool_reference(x, k, s, p))


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_forward_and_mask_match_definition(caffe, tmp_path, rng, case):
    net, top, mask = pooled(caffe, tmp_path, rng, case, mask_top=True)
    np.testing.assert_array_equal(net.blobs["pool"].data, top)
    np.testing.assert_array_equal(net.blobs["mask"].data, mask.astype(np.float32))


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("phase", ["TEST", "TRAIN"])
def test_max_pool_single_top_forward_matches_definition(caffe, tmp_path, rng, case, phase):
    net, top, _ = pooled(caffe, tmp_path, rng, case, mask_top=False, phase=phase)
    np.testing.assert_array_equal(net.blobs["pool"].data, top)


def test_max_pool_values_only_on_real_activations(caffe, tmp_path, rng):
    """Continuous values with zeros of both signs, and a window that is all
    -FLT_MAX (the stock loop leaves -FLT_MAX there)."""
    shape = (2, 5, 23, 41)
    body = """layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }"""
    net = make_net(caffe, tmp_path, shape, body)
    x = real_activations(rng, shape)
    x[0, 0, :3, :3] = -np.finfo(np.float32).max
    net.blobs["data"].data[...] = x
    net.forward()
    top, _ = pool_reference(x, 3, 2, 0)
    np.testing.assert_array_equal(net.blobs["pool"].data, top)
    assert net.blobs["pool"].data[0, 0, 0, 0] == -np.finfo(np.float32).max


# (N, C, H, W, (kernel_h, kernel_w), (stride_h, stride_w)): the AVX2 kernel of a TEST-phase,
# values-only pool (max_pool_simd.hpp: unpadded, window width 2 or 3 at horizontal stride 2,
# rows of 8 or more) with other window heights and vertical strides, windows clipped at the
# right and bottom edges (ceil mode), and widths at, just over and well past one vector
SIMD_POOL_CASES = [(1, 2, 9, 8, (3, 3), (2, 2)), (2, 3, 12, 17, (2, 3), (1, 2)),
                   (1, 3, 10, 31, (3, 2), (3, 2)), (1, 2, 11, 9, (4, 3), (2, 2)),
                   (64, 4, 21, 21, (3, 3), (2, 2)), (2, 2, 7, 46, (1, 2), (1, 2))]


@pytest.mark.parametrize("case", SIMD_POOL_CASES)
@pytest.mark.parametrize("ceil_mode", [True, False])
def test_max_pool_simd_kernel_matches_definition_and_loop(caffe, tmp_path, rng, monkeypatch, case, ceil_mode):
    """Against the definition and against pooling_layer.cpp's own loop
    (CAFFE_NEED_SIMD_POOL=0), on activations with zeros of both signs, NaNs
    (never a maximum in Caffe's loop) and a window of -inf (-FLT_MAX comes out);
    Caffe's default ceil-mode output size and the floor mode."""
    n, c, h, w, (kh, kw), (sh, sw) = case
    body = f"""layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool"
  pooling_param {{ pool: MAX kernel_h: {kh} kernel_w: {kw} stride_h: {sh} stride_w: {sw}
                   ceil_mode: {str(ceil_mode).lower()} }} }}"""
    net = make_net(caffe, tmp_path, (n, c, h, w), body)
    x = real_activations(rng, (n, c, h, w))
    x.reshape(-1)[rng.choice(x.size, x.size // 50, replace=False)] = np.nan
    x[0, 0, :kh, :kw] = -np.inf
    lowest = -np.finfo(np.float32).max
    top, _ = pool_reference(np.where(np.isnan(x) | (x < lowest), lowest, x).astype(np.float32),
                            (kh, kw), (sh, sw), 0, ceil_mode)
    out = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("CAFFE_NEED_SIMD_POOL", flag)
        net.blobs["pool"].data[...] = np.inf   # an output left unwritten must show
        net.blobs["data"].data[...] = x
        net.forward()
        out[flag] = net.blobs["pool"].data.copy()
    np.testing.assert_array_equal(out["1"], top)
    np.testing.assert_array_equal(out["0"], top)
    assert out["1"][0, 0, 0, 0] == lowest


@pytest.mark.parametrize("case", POOL_CASES[:4] + POOL_CASES[-2:])
@pytest.mark.parametrize("phase", ["TEST", "TRAIN"])
def test_max_pool_backward_routes_gradient_to_the_first_maximum(caffe, tmp_path, rng, case, phase):
    n, c, h, w = case[:4]
    net, top, mask = pooled(caffe, tmp_path, rng, case, mask_top=False, phase=phase)
    g = rng.standard_normal(top.shape).astype(np.float32)
    net.blobs["pool"].diff[...] = g
    net.backward()
    want = np.zeros((n * c, h * w), np.float64)
    for i in range(n * c):
        np.add.at(want[i], mask.reshape(n * c, -1)[i], g.reshape(n * c, -1)[i])
    np.testing.assert_allclose(net.blobs["data"].diff.reshape(n * c, -1), want, rtol=1e-6, atol=1e-6)


def conv_reference(x, w, b):
    """Stride-1, unpadded cross-correlation in float64 (what Caffe's Convolution computes)."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    out = np.zeros((n, o, h - k + 1, wd - k + 1))
    for kh in range(k):
        for kw in range(k):
            patch = x[:, :, kh:kh + h - k + 1, kw:kw + wd - k + 1].astype(np.float64)
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, kh, kw].astype(np.float64))
    return out + (0 if b is None else b.astype(np.float64)[None, :, None, None])


def conv_net(caffe, tmp_path, rng, shape, num_output, k, bias=True, extra=""):
    body = f"""layer {{ name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param {{ num_output: {num_output} kernel_size: {k} bias_term: {str(bias).lower()} {extra} }} }}"""
    net = make_net(caffe, tmp_path, shape, body)
    for blob in net.params["conv"]:
        blob.data[...] = rng.standard_normal(blob.data.shape).astype(np.float32)
    net.blobs["data"].data[...] = rng.standard_normal(shape).astype(np.float32)
    return net


def conv_outputs(net, monkeypatch, direct_flag="1"):
    """The layer's output through the direct path (if its geometry allows; "baseline":
    the kernel's SSE2 build) and through the GEMM path."""
    out = {}
    for flag in (direct_flag, "0"):
        monkeypatch.setenv("CAFFE_NEED_DIRECT_CONV", flag)
        net.blobs["conv"].data[...] = np.nan    # an output left unwritten must show
        net.forward()
        out[flag] = net.blobs["conv"].data.copy()
    return out[direct_flag], out["0"]


# (N, C, H, W, num_output, kernel): MTCNN's P-Net convolutions at a pyramid level's size,
# O-Net's first on 2 candidates, and output widths (>= 40, the direct path's minimum) at and
# off the 8- and 16-pixel blocks, with output channel counts that leave every remainder of the
# 4-channel blocks
DIRECT_CASES = [(1, 3, 52, 66, 10, 3), (1, 10, 30, 50, 16, 3), (1, 16, 20, 57, 32, 3), (2, 3, 48, 48, 32, 3),
                (2, 5, 9, 64, 7, 2), (3, 4, 6, 55, 5, 3), (1, 2, 4, 49, 1, 2), (1, 3, 5, 60, 6, 3)]


@pytest.mark.parametrize("case", DIRECT_CASES)
@pytest.mark.parametrize("build", ["1", "baseline"])
def test_direct_conv_matches_reference_and_gemm(caffe, tmp_path, rng, monkeypatch, case, build):
    n, c, h, w, o, k = case
    net = conv_net(caffe, tmp_path, rng, (n, c, h, w), o, k)
    direct, gemm = conv_outputs(net, monkeypatch, build)
    x, (weight, bias) = net.blobs["data"].data, [p.data for p in net.params["conv"]]
    want = conv_reference(x, weight, bias)
    # float32 summation of K + 1 terms in any order is within (K + 1) * 2**-24 * sum |term|
    bound = (c * k * k + 1) * 2.0 ** -24 * conv_reference(np.abs(x), np.abs(weight), np.abs(bias))
    assert (np.abs(direct - want) <= bound).all()
    assert (np.abs(gemm - want) <= bound).all()
    # the two paths sum in different orders: identical bits would mean the direct path was not taken
    assert (direct != gemm).any()


def test_direct_conv_without_bias(caffe, tmp_path, rng, monkeypatch):
    """Sums start from zero.  (With no bias both paths may give the same bits:
    OpenBLAS sums this short dot product in the same order, with FMA.)"""
    net = conv_net(caffe, tmp_path, rng, (1, 3, 12, 70), 6, 3, bias=False)
    direct, gemm = conv_outputs(net, monkeypatch)
    want = conv_reference(net.blobs["data"].data, net.params["conv"][0].data, None)
    np.testing.assert_allclose(direct, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(gemm, want, rtol=0, atol=1e-5)


# geometries the direct kernel does not handle, bit for bit as the stock im2col + GEMM:
# padding, stride, dilation, groups and 1x1 take the stock path itself; outputs narrower
# than 40 (R-Net's, O-Net's after its first) and non-square kernels take the GEMM after
# caffe_need's im2col by row copies, whose column buffer must be the stock one exactly:
# R-Net's three convolutions and O-Net's second to fourth on 2 candidates, odd sizes,
# one-row and one-column outputs
STOCK_CASES = [((1, 4, 20, 60), 8, 3, "pad: 1"), ((1, 4, 20, 100), 8, 3, "stride: 2"),
               ((1, 4, 20, 60), 8, 3, "dilation: 2"), ((1, 4, 20, 60), 8, 3, "group: 2"),
               ((1, 8, 10, 60), 4, 1, ""), ((2, 3, 24, 24), 28, 3, ""), ((2, 28, 11, 11), 48, 3, ""),
               ((2, 48, 4, 4), 64, 2, ""), ((2, 32, 23, 23), 64, 3, ""), ((2, 64, 10, 10), 64, 3, ""),
               ((2, 64, 4, 4), 128, 2, ""), ((3, 5, 7, 13), 6, 3, ""), ((1, 2, 3, 9), 3, 3, ""),
               ((1, 2, 9, 3), 3, 3, ""), ((1, 4, 20, 60), 8, 3, "kernel_h: 3 kernel_w: 2"),
               ((2, 3, 6, 39), 5, 3, "kernel_h: 1 kernel_w: 3")]


@pytest.mark.parametrize("shape,num_output,k,extra", STOCK_CASES)
def test_other_convolutions_keep_the_stock_path(caffe, tmp_path, rng, monkeypatch, shape, num_output, k, extra):
    if "kernel_h" in extra:
        body = f"""layer {{ name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param {{ num_output: {num_output} {extra} }} }}"""
        net = make_net(caffe, tmp_path, shape, body)
        for blob in net.params["conv"]:
            blob.data[...] = rng.standard_normal(blob.data.shape).astype(np.float32)
        net.blobs["data"].data[...] = rng.standard_normal(shape).astype(np.float32)
    else:
        net = conv_net(caffe, tmp_path, rng, shape, num_output, k, extra=extra)
    ours, stock = conv_outputs(net, monkeypatch)
    np.testing.assert_array_equal(ours.view(np.uint32), stock.view(np.uint32))
    assert np.isfinite(ours).all()                     # every output written


def test_direct_conv_gradients_agree_with_its_forward(caffe, tmp_path, rng, monkeypatch):
    """Backward is the stock GEMM code; finite differences of the direct forward must match it."""
    monkeypatch.setenv("CAFFE_NEED_DIRECT_CONV", "1")
    shape = (1, 2, 5, 52)
    net = conv_net(caffe, tmp_path, rng, shape, 3, 3)
    x = net.blobs["data"].data.copy()
    r = rng.standard_normal(net.blobs["conv"].data.shape).astype(np.float32)

    def loss(xv):
        net.blobs["data"].data[...] = xv
        net.forward()
        return float((net.blobs["conv"].data.astype(np.float64) * r).sum())

    loss(x)
    net.blobs["conv"].diff[...] = r
    for blob in net.params["conv"]:
        blob.diff[...] = 0
    net.backward()
    dx, dw = net.blobs["data"].diff.copy(), net.params["conv"][0].diff.copy()
    assert_gradient_matches_differences(loss, x, dx, rng, 8, 2e-3)
    w = net.params["conv"][0].data
    w0 = w.copy()

    def loss_of_weights(wv):
        w[...] = wv
        return loss(x)

    assert_gradient_matches_differences(loss_of_weights, w0, dw, rng, 8, 2e-3)
