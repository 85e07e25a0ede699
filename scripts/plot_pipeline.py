#!/usr/bin/env python3
"""Plots an R1 pipeline run from its metrics.jsonl (written by examples/r1_pipeline).

    plot_pipeline.py OUTPUT_DIR
    plot_pipeline.py --compare STAGE IMAGE LABEL=OUTPUT_DIR LABEL=OUTPUT_DIR ...

writes OUTPUT_DIR/rl_curves.png (reward, accuracy, completion length and KL per GRPO step of
every RL stage, the validation pass@1 that picks each stage's kept step and the validation
share of sound reasoning) and OUTPUT_DIR/sft_curves.png (training loss of every supervised stage and the
cold start's validation loss per epoch). With --compare, IMAGE shows one RL stage of several
runs side by side (GRPO against PPO, say), with the critic's explained variance where a run
has one. Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_records(path):
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def smooth(values, window=5):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_validation(axis, records, key, title):
    points = defaultdict(list)
    for r in records:
        if r["kind"] == "validation" and key in r:
            points[r["stage"]].append((r["step"], r[key]))
    for stage, stage_points in points.items():
        axis.plot(*zip(*stage_points), marker="o", label=stage)
    axis.set_title(title)
    axis.set_xlabel("GRPO step")
    axis.grid(alpha=0.3)


def plot_rl(records, path):
    stages = defaultdict(list)
    for r in records:
        if r["kind"] == "grpo" and r["applied"]:
            stages[r["stage"]].append(r)
    panels = [
        ("total reward", lambda r: r["rewards"]["total"]["mean"]),
        ("accuracy reward", lambda r: r["rewards"].get("accuracy", {"mean": float("nan")})["mean"]),
        ("completion length (tokens)", lambda r: r["completion_length"]),
        ("KL to reference (k3)", lambda r: r["objective"]["kl"]),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(15, 7))
    for axis, (title, value) in zip(axes.flat, panels):
        for stage, rows in stages.items():
            steps = [r["step"] for r in rows]
            axis.plot(steps, smooth([value(r) for r in rows]), label=stage)
        axis.set_title(title)
        axis.set_xlabel("GRPO step")
        axis.grid(alpha=0.3)
    plot_validation(axes.flat[len(panels)], records, "pass_at_1", "validation pass@1 (picks the kept step)")
    plot_validation(axes.flat[-1], records, "sound_rate", "validation: sound reasoning (the reward model's rule)")
    axes.flat[0].legend()
    figure.suptitle("R1 pipeline: RL stages (moving average over 5 steps)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_sft(records, path):
    losses = defaultdict(list)
    validation = [(r["epoch"] + 1, r["loss"]) for r in records if r["kind"] == "validation" and "epoch" in r]
    for r in records:
        if r["kind"] == "sft":
            losses[r["stage"]].append(r["loss"])
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for stage, values in losses.items():
        axes[0].plot(range(1, len(values) + 1), smooth(values, 10), label=stage)
    axes[0].set_title("SFT training loss (nats per completion token)")
    axes[0].set_xlabel("update")
    axes[0].set_yscale("log")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    if validation:
        epochs, values = zip(*validation)
        axes[1].plot(epochs, values, marker="o")
    axes[1].set_title("cold start: held-out loss per epoch")
    axes[1].set_xlabel("epoch")
    axes[1].grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_comparison(stage, runs, path):
    panels = [
        ("total reward", lambda r: r["rewards"]["total"]["mean"]),
        ("accuracy reward", lambda r: r["rewards"]["accuracy"]["mean"]),
        ("completion length (tokens)", lambda r: r["completion_length"]),
        ("KL to reference (k3)", lambda r: r["objective"]["kl"]),
        ("critic: explained variance", lambda r: r["critic"]["explained_variance"] if "critic" in r else None),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(15, 7))
    for index, (label, records) in enumerate(runs):
        color = f"C{index}"  # one colour per run on every panel, those it is missing from included
        rows = [r for r in records if r["kind"] == "grpo" and r["applied"] and r["stage"] == stage]
        for axis, (title, value) in zip(axes.flat, panels):
            points = [(r["step"], value(r)) for r in rows if value(r) is not None]
            if points:
                steps, values = zip(*points)
                axis.plot(steps, smooth(list(values)), label=label, color=color)
            axis.set_title(title)
            axis.set_xlabel("step")
            axis.grid(alpha=0.3)
        validation = [(r["step"], r["pass_at_1"]) for r in records
                      if r["kind"] == "validation" and r.get("stage") == stage and "pass_at_1" in r]
        if validation:
            axes.flat[len(panels)].plot(*zip(*validation), marker="o", label=label, color=color)
    axes.flat[len(panels)].set_title("validation pass@1")
    axes.flat[len(panels)].set_xlabel("step")
    axes.flat[len(panels)].grid(alpha=0.3)
    axes.flat[0].legend()
    figure.suptitle(f"{stage}: moving average over 5 steps")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "--compare":
        stage, image = sys.argv[2], Path(sys.argv[3])
        runs = []
        for argument in sys.argv[4:]:
            label, _, directory = argument.partition("=")
            runs.append((label, read_records(Path(directory) / "metrics.jsonl")))
        plot_comparison(stage, runs, image)
        print(f"wrote {image}")
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    output = Path(sys.argv[1])
    records = read_records(output / "metrics.jsonl")
    plot_rl(records, output / "rl_curves.png")
    plot_sft(records, output / "sft_curves.png")
    print(f"wrote {output / 'rl_curves.png'} and {output / 'sft_curves.png'}")


if __name__ == "__main__":
    main()
