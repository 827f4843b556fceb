"""caffe_need's faster CPU forwards of two stock layers (MTCNN's PReLU and max
pooling) against the stock layers' definitions, exactly: PReLU as
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
    step = 1e-2
    for i in rng.choice(x.size, 10, replace=False):
        xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
        xp[i] += step
        xm[i] -= step
        numeric = (forward(xp.reshape(shape)) - forward(xm.reshape(shape))) / (2 * step)
        assert abs(numeric - dx.reshape(-1)[i]) <= 1e-2 * max(1.0, abs(numeric))


def pool_reference(x, k, s, p):
    """Caffe's MAX pooling: ceil-mode output, padding, the last window starting
    inside the (unpadded + pad) image, first maximum in row-major order."""
    n, c, h, w = x.shape
    ph_n = int(np.ceil((h + 2 * p - k) / s)) + 1
    pw_n = int(np.ceil((w + 2 * p - k) / s)) + 1
    if p:
        ph_n -= (ph_n - 1) * s >= h + p
        pw_n -= (pw_n - 1) * s >= w + p
    top = np.full((n, c, ph_n, pw_n), -np.finfo(np.float32).max, np.float32)
    mask = np.full((n, c, ph_n, pw_n), -1, np.int64)
    for ph in range(ph_n):
        for pw in range(pw_n):
            h0, w0 = ph * s - p, pw * s - p
            h1, w1 = min(h0 + k, h), min(w0 + k, w)
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
