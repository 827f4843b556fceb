"""Running a Caffe solver from Python: resumable, logged, plotted, exported.

    run_training(solver_path, out_dir, ...)

- Relative paths in the solver and in the net's ImageData layers are resolved
  against the folder of the file that holds them (so the committed prototxts
  work from any working directory); resolved copies go to out_dir.
- Every ImageData list is checked in Python first (values per line, images
  present), so a bad list is a Python error naming file:line, not an abort.
- Resumes from the newest snapshot in out_dir/snapshot unless told otherwise;
  Ctrl-C / SIGTERM snapshots before leaving.
- Prints images/s, writes train_log.csv and loss.png at every test.
- At the end: BatchNorm statistics recomputed with the final weights (the
  moving averages lag behind under Adam), then deploy and BatchNorm-folded
  deploy models exported to out_dir/model.
"""
import csv
import os
import re
import signal
import time
from pathlib import Path

import numpy as np

from .caffe_loader import import_caffe
from .paths import REPO_ROOT
from .prototxt import check_net, read_net, read_solver, write_text
from .records import LabelFormatError, read_label_list

# the default solver of each landmark level (the seed's layout)
SOLVERS = {1: REPO_ROOT / "1_level_1/Code/2_train/solver.prototxt",
           2: REPO_ROOT / "2_level_2/Code/0_train/solver.prototxt"}


def resolve_paths(solver_path, out_dir):
    """Resolved copies of solver + net in out_dir; returns (solver file, net param)."""
    solver_path = Path(solver_path).resolve()
    out_dir = Path(out_dir)
    solver = read_solver(solver_path)
    base = solver_path.parent
    net_path = (base / solver.net).resolve()
    net = read_net(net_path)
    for layer in net.layer:
        if layer.type == "ImageData":
            p = layer.image_data_param
            p.source = str((net_path.parent / p.source).resolve())
            if p.root_folder:
                p.root_folder = str((net_path.parent / p.root_folder).resolve()) + "/"
    check_net(net, where=str(net_path))
    resolved_net = out_dir / (net_path.stem + ".resolved.prototxt")
    write_text(resolved_net, net)
    solver.net = str(resolved_net)
    solver.snapshot_prefix = str(out_dir / "snapshot" / Path(solver.snapshot_prefix or "model").name)
    (out_dir / "snapshot").mkdir(parents=True, exist_ok=True)
    resolved_solver = out_dir / (solver_path.stem + ".resolved.prototxt")
    write_text(resolved_solver, solver)
    return resolved_solver, solver, net, net_path


def check_image_lists(net, expected=10):
    """Python-side check of every ImageData list (Caffe would abort on some errors)."""
    for layer in net.layer:
        if layer.type != "ImageData":
            continue
        p = layer.image_data_param
        rows = read_label_list(p.source, expected=expected)
        if not rows:
            raise LabelFormatError(f"{p.source}: empty list")
        root = Path(p.root_folder) if p.root_folder else Path()
        missing = [r for r, _ in rows if not (root / r).is_file()]
        if missing:
            raise LabelFormatError(f"{p.source}: {len(missing)} images missing, e.g. {root / missing[0]}")


def latest_snapshot(snapshot_dir):
    states = list(Path(snapshot_dir).glob("*.solverstate"))
    if not states:
        return None
    return max(states, key=lambda p: int(re.search(r"_iter_(\d+)", p.name).group(1)))


def recompute_batchnorm(train_net, batches=50):
    """Zero every BatchNorm's statistics and re-estimate them over `batches`
    training batches with the current weights (TRAIN-phase forwards)."""
    bn = [name for name, layer in zip(train_net._layer_names, train_net.layers) if layer.type == "BatchNorm"]
    for name in bn:
        for blob in train_net.params[name]:
            blob.data[...] = 0
    for _ in range(batches):
        train_net.forward()
    return len(bn)


def test_loss(test_net, iters, train_net=None):
    if train_net is not None:
        # Caffe shares trained weights with its test net only inside its own
        # Test(), which this loop replaces.
        test_net.share_with(train_net)
    losses = [float(test_net.forward()["loss"]) for _ in range(iters)]
    return float(np.mean(losses))


def plot_log(rows, path, title):
    from .drawing import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    it = [r["iter"] for r in rows]
    ax.plot(it, [r["train_loss"] for r in rows], label="train (smoothed)")
    tests = [(r["iter"], r["test_loss"]) for r in rows if r["test_loss"] != ""]
    if tests:
        ax.plot(*zip(*tests), "o-", label="held-out")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"Euclidean loss x {100}")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    save_figure(fig, path)


def restore(solver, resume, weights, out_dir, log):
    """resume: 'auto' (newest snapshot in out_dir/snapshot), 'none' or a .solverstate path;
    else start from the caffemodel `weights` (fine-tuning), if given."""
    state = None
    if resume == "auto":
        state = latest_snapshot(out_dir / "snapshot")
    elif resume not in (None, "none"):
        state = Path(resume)
    if state:
        solver.restore(str(state))
        log(f"resumed from {state} at iteration {solver.iter}")
    elif weights:
        solver.net.copy_from(str(weights))
        log(f"initialised from {weights}")


def logged_rows(log_path, up_to_iter):
    """The rows of a resumed run's train_log.csv up to the iteration it resumes at."""
    if not log_path.is_file() or up_to_iter <= 0:
        return []
    with open(log_path) as f:
        return [dict(r, iter=int(r["iter"]), train_loss=float(r["train_loss"]))
                for r in csv.DictReader(f) if int(r["iter"]) <= up_to_iter]


def run_training(solver_path, out_dir, max_iter=None, resume="auto", gpu=None,
                 display=None, bn_batches=50, log=print, weights=None):
    """Train; returns a summary dict. resume: 'auto' (newest snapshot), 'none' or a
    path; weights: a caffemodel to start from (fine-tuning) when not resuming."""
    caffe = import_caffe(gpu=gpu)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resolved_solver, solver_param, net_param, net_path = resolve_paths(solver_path, out_dir)
    check_image_lists(net_param)
    if max_iter:
        solver_param.max_iter = max_iter
    test_interval = solver_param.test_interval or 1000
    test_iter = solver_param.test_iter[0] if solver_param.test_iter else 0
    # Our loop runs the tests (pycaffe does not expose Caffe's test results).
    solver_param.test_interval = 10 ** 9
    solver_param.test_initialization = False
    write_text(resolved_solver, solver_param)
    display = display or solver_param.display or 100

    solver = caffe.get_solver(str(resolved_solver))
    restore(solver, resume, weights, out_dir, log)
    batch = solver.net.blobs["data"].data.shape[0]
    log_path = out_dir / "train_log.csv"
    rows = logged_rows(log_path, solver.iter)

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
        log("stopping after this step (signal); a snapshot will be written")

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    smoothed = None
    try:
        while solver.iter < solver_param.max_iter and not stop["flag"]:
            steps = min(display, solver_param.max_iter - solver.iter)
            t0 = time.time()
            losses = []
            for _ in range(steps):
                solver.step(1)
                losses.append(float(solver.net.blobs["loss"].data))
                if stop["flag"]:
                    break
            dt = time.time() - t0
            loss = float(np.mean(losses))
            smoothed = loss if smoothed is None else 0.7 * smoothed + 0.3 * loss
            tl = ""
            if test_iter and (solver.iter % test_interval < steps or solver.iter >= solver_param.max_iter):
                tl = test_loss(solver.test_nets[0], test_iter, solver.net)
            rate = len(losses) * batch / max(dt, 1e-9)
            rows.append({"iter": solver.iter, "train_loss": smoothed, "test_loss": tl,
                         "images_per_s": round(rate, 1)})
            log(f"iter {solver.iter:6d}  loss {loss:.4f}  "
                + (f"held-out {tl:.4f}  " if tl != "" else "") + f"{rate:.0f} images/s")
            if tl != "":
                _write_log(log_path, rows)
                plot_log(rows, out_dir / "loss.png", net_param.name)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        solver.snapshot()
        _write_log(log_path, rows)
        if rows:
            plot_log(rows, out_dir / "loss.png", net_param.name)
    summary = {"iter": solver.iter, "batch": batch}
    if stop["flag"]:
        summary["interrupted"] = True
        return summary
    n_bn = recompute_batchnorm(solver.net, bn_batches)
    if test_iter:
        summary["test_loss"] = test_loss(solver.test_nets[0], test_iter, solver.net)
        log(f"BatchNorm statistics of {n_bn} layers recomputed; held-out loss {summary['test_loss']:.4f}")
    summary.update(export_models(solver.net, net_param, out_dir / "model", net_param.name))
    return summary


def export_models(train_net, train_param, model_dir, name):
    """deploy prototxt + caffemodel, and the BatchNorm-folded pair (what we ship)."""
    from . import landmark_net as ln
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    deploy = ln.deploy_from_train(train_param)
    weights = ln.net_weights(train_net)
    deploy_weights = {k: v for k, v in weights.items() if any(l.name == k for l in deploy.layer)}
    write_text(model_dir / f"{name}_deploy.prototxt", deploy)
    ln.save_caffemodel(deploy, deploy_weights, model_dir / f"{name}.caffemodel")
    folded, folded_weights = ln.fold_batchnorm(deploy, deploy_weights)
    write_text(model_dir / f"{name}_folded_deploy.prototxt", folded)
    ln.save_caffemodel(folded, folded_weights, model_dir / f"{name}_folded.caffemodel")
    return {"deploy": str(model_dir / f"{name}_folded_deploy.prototxt"),
            "caffemodel": str(model_dir / f"{name}_folded.caffemodel"),
            "caffemodel_bytes": os.path.getsize(model_dir / f"{name}_folded.caffemodel")}


def _write_log(path, rows):
    tmp = Path(str(path) + ".part")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["iter", "train_loss", "test_loss", "images_per_s"])
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def export_snapshot(solver_path, caffemodel, out_dir, bn_batches=50):
    """Export a snapshot like the end of a run: BatchNorm statistics recomputed
    on training batches, then deploy + folded models in out_dir/model."""
    caffe = import_caffe()
    out_dir = Path(out_dir)
    _, _, net_param, _ = resolve_paths(solver_path, out_dir)
    resolved_net = out_dir / (Path(read_solver(solver_path).net).stem + ".resolved.prototxt")
    check_image_lists(net_param)
    net = caffe.Net(str(resolved_net), str(caffemodel), caffe.TRAIN)
    recompute_batchnorm(net, bn_batches)
    return export_models(net, net_param, out_dir / "model", net_param.name)


def unfold_deploy_model(solver_path, deploy, caffemodel, out, batches=20):
    """A BatchNorm-folded deploy model (what 3_demo/Data ships) as weights of the
    solver's train net, to fine-tune from (landmark_net.unfold_batchnorm; the
    statistics come from the solver's training list).  Writes `out` atomically;
    returns {"unfolded_convs", "out", "max_abs_diff_test_phase"}: the largest
    output difference, on one test batch, between the folded model and the
    train net in TEST phase with the written weights (float rounding only)."""
    import tempfile

    from .atomic import atomic_path
    from .landmark_net import unfold_batchnorm
    caffe = import_caffe()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, net_param, _ = resolve_paths(solver_path, tmp)
        check_image_lists(net_param)
        resolved = Path(tmp) / (Path(read_solver(solver_path).net).stem + ".resolved.prototxt")
        train_net = caffe.Net(str(resolved), caffe.TRAIN)
        folded = caffe.Net(str(deploy), str(caffemodel), caffe.TEST)
        n = unfold_batchnorm(train_net, folded, batches)
        with atomic_path(out) as part:
            train_net.save(str(part))
        test_net = caffe.Net(str(resolved), str(out), caffe.TEST)
        test_net.forward()
        data = test_net.blobs["data"].data
        folded.blobs["data"].reshape(*data.shape)
        folded.reshape()
        ref = next(iter(folded.forward(data=data).values()))
        got = test_net.blobs["fc2"].data
        diff = float(np.abs(got - ref.reshape(got.shape)).max())
    return {"unfolded_convs": n, "out": str(out), "max_abs_diff_test_phase": diff}
