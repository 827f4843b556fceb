"""The MTCNN training loop: feed batches, step, log, save atomically, stop on time or Ctrl-C."""
import time

import numpy as np

from .batches import ohem_labels


def train(solver, sampler, iters, log=None, save=None, save_every=1000, progress=None, stop_at=None,
          iter_offset=0, ohem=1.0, score_blob=None):
    """Feed batches and step (until `iters` steps or the time `stop_at`);
    returns the list of (iter, cls, box, pts) losses.
    ohem < 1: online hard sample mining on the face/non-face loss (`ohem_labels`);
    score_blob is then the net's 2-way score head (HEADS[net][0]).  It costs one
    more forward per step; the logged cls loss is then the hard samples' loss.
    Ctrl-C saves the weights of the last step done (save() writes atomically), then
    stops as asked; --resume on that caffemodel goes on from them."""
    history = []
    start = solver.iter
    try:
        _train_steps(solver, sampler, iters, history, log, save, save_every, progress, stop_at, iter_offset,
                     ohem, score_blob)
    except KeyboardInterrupt:
        # the solver's count, not the history's: Ctrl-C may land after a step, before its losses are read
        if save is not None and solver.iter > start:
            save(solver.iter + iter_offset)
            if log is not None:
                log(f"interrupted after iter {solver.iter + iter_offset}: weights saved")
        raise
    return history


def _train_steps(solver, sampler, iters, history, log, save, save_every, progress, stop_at, iter_offset,
                 ohem, score_blob):
    net = solver.net
    t0 = time.time()
    it = solver.iter
    if ohem < 1.0 and score_blob is None:
        raise ValueError("ohem < 1 needs score_blob, the face score head")
    for k in range(iters):
        batch = sampler.next()
        for name, arr in batch.items():
            if name in net.blobs:
                net.blobs[name].data[...] = arr.reshape(net.blobs[name].data.shape)
        if ohem < 1.0:
            net.forward(end=score_blob)
            net.blobs["label"].data[...] = ohem_labels(net.blobs[score_blob].data, batch["label"], ohem)
        solver.step(1)
        it = solver.iter + iter_offset
        losses = [float(net.blobs[b].data) if b in net.blobs else float("nan")
                  for b in ("cls_loss", "box_loss", "pts_loss")]
        history.append((it, *losses))
        if progress is not None:
            progress.update(1)
        if log is not None and (it % 100 == 0 or k == iters - 1):
            recent = np.array(history[-100:])[:, 1:].mean(axis=0)
            pts = "-" if np.isnan(recent[2]) else f"{recent[2]:.5f}"    # "-": a net without landmarks
            log(f"iter {it} cls {recent[0]:.4f} box {recent[1]:.5f} pts {pts} {time.time() - t0:.0f}s")
        if save is not None and (it % save_every == 0 or k == iters - 1):
            save(it)
        if stop_at is not None and time.time() >= stop_at:
            if log is not None:
                log(f"iter {it}: time budget reached")
            break


def minutes_until(hh_mm, now=None):
    """Minutes from `now` (default: the local time) to the next HH:MM, at least 1;
    a time earlier in the day than `now` is tomorrow's."""
    import datetime

    hh, mm = (int(v) for v in hh_mm.split(":"))
    now = now or datetime.datetime.now()
    end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if end <= now:
        end += datetime.timedelta(days=1)
    return max(1.0, (end - now).total_seconds() / 60)


def plot_losses(hist, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    k = max(1, len(hist) // 200)
    for col, name in ((1, "cls"), (2, "box"), (3, "pts")):
        y = hist[:, col]
        if np.all(np.isnan(y)):
            continue
        n = len(y) // k * k
        ax.plot(hist[:n:k, 0], y[:n].reshape(-1, k).mean(axis=1), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.legend()
    ax.set_title(f"{title} training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
