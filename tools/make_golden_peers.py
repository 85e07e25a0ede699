#!/usr/bin/env python3
"""Golden fixtures for rlft's peer presets (include/rlft/presets/): the advantages, loss and
dL/d(log-prob) that TRL's GRPOTrainer, verl's core_algos and OpenRLHF's experience maker and
PolicyLoss compute with their own code on generated float32 batches (ragged lengths, masked
holes inside completions, a group of equal rewards, a singleton group for verl, extreme
log-ratios). Writes tests/presets/golden/peers.json.

TRL's loss is GRPOTrainer._compute_loss itself, run on a stand-in for the trainer that holds the
options and returns the batch's log-probs instead of running a model. verl's are the registered
advantage estimators and policy losses of verl.trainer.ppo.core_algos, combined as
verl.workers.utils.losses.ppo_loss combines them (policy loss + kl_loss_coef · agg_loss(KL)).
OpenRLHF's REINFORCE++ advantages are RemoteExperienceMaker.compute_advantages_and_returns on a
stand-in maker, with the KL of compute_approx_kl; its loss is models.loss.PolicyLoss.
verl and OpenRLHF import distributed-training and serving packages (ray, deepspeed, vllm, ...)
that these functions never call; stand-in modules replace them.

Usage: python3 tools/make_golden_peers.py [output file]
  (needs torch, trl==1.16.0, verl==0.9.1 with tensordict, omegaconf, codetiming, orjson, and
  openrlhf==0.11.2 installed without its dependencies)
"""
import importlib.abc
import importlib.metadata
import importlib.machinery
import json
import math
import os
import sys
import types

import numpy as np
import torch


class _Anything(types.ModuleType):
    """A module whose every attribute is another such module and which calls through: enough
    for the type annotations and decorators verl's modules apply at import time."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return self


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = set(roots)

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Anything(spec.name)

    def exec_module(self, module):
        module.__path__ = []


_STAND_INS = _StandInFinder(["ray"])
sys.meta_path.insert(0, _STAND_INS)

import trl  # noqa: E402
import verl  # noqa: E402
from trl.trainer.grpo_trainer import GRPOTrainer  # noqa: E402
from verl.trainer.ppo import core_algos  # noqa: E402
from verl.workers.config import ActorConfig  # noqa: E402
from verl.workers.config.actor import PolicyLossConfig  # noqa: E402

# After TRL, which takes a stand-in vllm for the real one.
_STAND_INS.roots.update(["deepspeed", "flash_attn", "vllm", "peft", "bitsandbytes", "liger_kernel", "pylatexenc",
                         "torchdata", "aiohttp"])
from openrlhf.models.loss import PolicyLoss  # noqa: E402
from openrlhf.models.utils import compute_approx_kl  # noqa: E402
from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker  # noqa: E402

WIDTH = 12  # padded completion length of every batch


def make_batch(seed, group_sizes, rewards, extreme_log_ratio):
    """Ragged completions (3 to WIDTH tokens), a masked hole inside every third one, log-probs
    of the current, old and reference policies, and two tokens whose log-ratio is ±extreme."""
    generator = np.random.default_rng(seed)
    count = sum(group_sizes)
    lengths = generator.integers(3, WIDTH + 1, size=count)
    lengths[0] = WIDTH
    mask = np.zeros((count, WIDTH), dtype=np.float32)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
        if i % 3 == 1 and length > 4:
            mask[i, 1:3] = 0  # e.g. tool output inside the completion
    logprobs = -generator.uniform(0.02, 4.0, size=(count, WIDTH))
    old = logprobs - generator.normal(0.0, 0.25, size=(count, WIDTH))
    ref = logprobs - generator.normal(0.0, 0.3, size=(count, WIDTH))
    old[1, 0] = logprobs[1, 0] - extreme_log_ratio
    old[2, 3] = logprobs[2, 3] + extreme_log_ratio
    ref[3, 2] = logprobs[3, 2] + 4.0  # a KL log-ratio the k3 value bound holds
    values = generator.normal(0.0, 0.5, size=(count, WIDTH))  # a critic's, for GAE
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    return {"group_sizes": list(group_sizes), "mask": f32(mask), "rewards": f32(rewards),
            "logprobs": f32(logprobs), "old_logprobs": f32(old), "ref_logprobs": f32(ref), "values": f32(values)}


def batch_json(batch):
    return {key: (value.tolist() if isinstance(value, np.ndarray) else value) for key, value in batch.items()}


# ---- TRL ----------------------------------------------------------------------------------

class _TrlStandIn:
    """What GRPOTrainer._compute_loss reads from the trainer, with one micro-batch per step."""

    def __init__(self, loss_type, options, logprobs):
        defaults = {"beta": 0.0, "epsilon": 0.2, "epsilon_high": None, "delta": None, "scale_rewards": "group",
                    "importance_sampling_level": "token", "use_bias_correction_kl": True,
                    "sapo_temperature_pos": 1.0, "sapo_temperature_neg": 1.05, "max_completion_length": WIDTH}
        self.options = {**defaults, **options}
        o = self.options
        self.args = types.SimpleNamespace(delta=o["delta"], use_bias_correction_kl=o["use_bias_correction_kl"],
                                          sapo_temperature_pos=o["sapo_temperature_pos"],
                                          sapo_temperature_neg=o["sapo_temperature_neg"], steps_per_generation=1)
        self.loss_type = loss_type
        self.beta = o["beta"]
        self.epsilon_low = o["epsilon"]
        self.epsilon_high = o["epsilon_high"] if o["epsilon_high"] is not None else o["epsilon"]
        self.importance_sampling_level = o["importance_sampling_level"]
        self.max_completion_length = o["max_completion_length"]
        self.top_entropy_quantile = 1.0
        self.off_policy_mask_threshold = None
        self.use_vllm = False
        self.aux_loss_enabled = False
        self._entropy_bonus_enabled = False
        self.current_gradient_accumulation_steps = 1
        self.model = types.SimpleNamespace(training=True)
        self.accelerator = types.SimpleNamespace(num_processes=1, reduce=lambda t, reduction: t,
                                                 gather=lambda t: t, sync_gradients=True)
        self._metrics = {"train": _AnyList()}
        self._logprobs = logprobs

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        return self._logprobs, torch.zeros_like(self._logprobs), None


class _AnyList(dict):
    def __missing__(self, key):
        self[key] = []
        return self[key]


def trl_advantages(rewards, group_size, scale_rewards):
    """GRPOTrainer's sum_then_normalize advantages (trl/trainer/grpo_trainer.py), one reward
    function, with TRL's own nanstd."""
    from trl.trainer.utils import nanstd
    mean = torch.nanmean(rewards.view(-1, group_size), dim=1).repeat_interleave(group_size, dim=0)
    if scale_rewards in ["group", "none"]:
        std = nanstd(rewards.view(-1, group_size), dim=1).repeat_interleave(group_size, dim=0)
    else:
        std = nanstd(rewards).expand_as(rewards)
    advantages = rewards - mean
    if scale_rewards != "none":
        advantages = advantages / (std + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


def trl_case(batch, loss_type, options):
    mask = torch.tensor(batch["mask"])
    group_size = batch["group_sizes"][0]
    stand_in = _TrlStandIn(loss_type, options, torch.tensor(batch["logprobs"], requires_grad=True))
    advantages = trl_advantages(torch.tensor(batch["rewards"]), group_size, stand_in.options["scale_rewards"])
    count = mask.shape[0]
    inputs = {"prompt_ids": torch.zeros((count, 1), dtype=torch.long), "prompt_mask": torch.ones((count, 1)),
              "completion_ids": torch.zeros((count, WIDTH), dtype=torch.long), "completion_mask": mask,
              "advantages": advantages, "old_per_token_logps": torch.tensor(batch["old_logprobs"]),
              "ref_per_token_logps": torch.tensor(batch["ref_logprobs"]),
              "num_items_in_batch": mask.sum()}
    loss = GRPOTrainer._compute_loss(stand_in, None, inputs)
    loss.backward()
    return {"name": f"trl {loss_type} {json.dumps(options, sort_keys=True)}", "loss_type": loss_type,
            "options": stand_in.options, "advantages": advantages.tolist(), "loss": loss.item(),
            "gradient": stand_in._logprobs.grad.tolist()}


def trl_cases():
    rewards = [1.0, 0.0, 0.5, 1.0,   0.25, 0.25, 0.25, 0.25,   0.0, 1.5, 1.0, 0.5]
    batch = make_batch(11, [4, 4, 4], rewards, extreme_log_ratio=9.0)
    cases = []
    for loss_type in ["grpo", "bnpo", "dr_grpo", "dapo"]:
        cases.append(trl_case(batch, loss_type, {}))
        cases.append(trl_case(batch, loss_type, {"beta": 0.04, "epsilon_high": 0.28}))
    for scale in ["batch", "none"]:
        cases.append(trl_case(batch, "dapo", {"scale_rewards": scale}))
    cases.append(trl_case(batch, "grpo", {"delta": 2.0, "epsilon_high": 0.28}))
    cases.append(trl_case(batch, "dapo", {"beta": 0.04, "use_bias_correction_kl": False}))
    cases.append(trl_case(batch, "cispo", {"epsilon_high": 5.0}))
    cases.append(trl_case(batch, "cispo", {"epsilon_high": 1.5, "beta": 0.04}))
    cases.append(trl_case(batch, "sapo", {}))
    cases.append(trl_case(batch, "sapo", {"beta": 0.04, "sapo_temperature_pos": 2.0}))
    gspo = {"importance_sampling_level": "sequence", "epsilon": 3e-4, "epsilon_high": 4e-4}
    cases.append(trl_case(batch, "grpo", gspo))
    cases.append(trl_case(batch, "grpo", {**gspo, "beta": 0.04, "use_bias_correction_kl": False}))
    return {"version": trl.__version__, "batch": batch_json(batch), "cases": cases}


# ---- verl ---------------------------------------------------------------------------------

def verl_scores(batch, count):
    """token_level_rewards as verl's reward manager writes them: the score on the last token."""
    mask = torch.tensor(batch["mask"][:count])
    scores = torch.zeros_like(mask)
    last = (mask.shape[1] - 1 - mask.flip(1).argmax(1)).long()
    scores[torch.arange(count), last] = torch.tensor(batch["rewards"][:count])
    return scores, mask


def group_index(batch, count):
    return np.repeat(np.arange(len(batch["group_sizes"])), batch["group_sizes"])[:count]


def verl_estimator_case(batch, estimator, count, algorithm=None, components=None):
    algorithm = {"gamma": 1.0, "lam": 1.0, "norm_adv_by_std_in_grpo": True, **(algorithm or {})}
    scores, mask = verl_scores(batch, count)
    index = group_index(batch, count)
    kwargs = {"token_level_rewards": scores, "response_mask": mask, "index": index,
              "config": _DictConfig(algorithm)}
    if estimator == "gae":
        kwargs = {"token_level_rewards": scores, "response_mask": mask, "gamma": algorithm["gamma"],
                  "lam": algorithm["lam"], "values": torch.tensor(batch["values"][:count])}
    if estimator in ["grpo", "grpo_passk", "gdpo"]:
        kwargs["norm_adv_by_std_in_grpo"] = algorithm["norm_adv_by_std_in_grpo"]
    if estimator == "gdpo":
        keys = [f"component_{k}" for k in range(len(components["values"]))]
        kwargs["config"] = _DictConfig({**algorithm, "gdpo_reward_keys": keys,
                                        "gdpo_reward_weights": components["weights"]})
        kwargs["non_tensor_batch"] = {key: np.asarray(values[:count], dtype=np.float32)
                                      for key, values in zip(keys, components["values"])}
        lengths = mask.shape[1] - mask.flip(1).argmax(1)  # response attention up to the last token
        kwargs["batch"] = {"prompts": torch.zeros((count, 2)),
                           "attention_mask": torch.cat([torch.ones((count, 2), dtype=torch.long),
                                                        (torch.arange(mask.shape[1]) < lengths[:, None]).long()],
                                                       dim=1)}
    advantages, _ = core_algos.get_adv_estimator_fn(estimator)(**kwargs)
    return {"name": f"verl {estimator} {json.dumps(algorithm, sort_keys=True)}", "estimator": estimator,
            "sequences": count, "algorithm": algorithm, "components": components,
            "advantages": advantages.tolist()}


class _DictConfig(dict):
    """What verl's estimators read from their AlgoConfig: attributes and .get."""

    def __getattr__(self, name):
        return self[name]


def verl_actor(options):
    fields = {"strategy": "fsdp", "ppo_mini_batch_size": 4, "ppo_micro_batch_size_per_gpu": 4, "rollout_n": 1}
    actor = {"clip_ratio": 0.2, "clip_ratio_low": 0.2, "clip_ratio_high": 0.2, "clip_ratio_c": 3.0,
             "loss_agg_mode": "token-mean", "loss_scale_factor": None, "use_kl_loss": False, "kl_loss_coef": 0.001,
             "kl_loss_type": "low_var_kl", "tau_pos": 1.0, "tau_neg": 1.05, "loss_mode": "vanilla", **options}
    config = ActorConfig(**fields, **{k: v for k, v in actor.items() if k != "loss_mode"},
                         policy_loss=PolicyLossConfig(loss_mode=actor["loss_mode"]))
    config.global_batch_info.update({"dp_size": 1, "batch_num_tokens": None, "global_batch_size": None,
                                     "loss_scale_factor": actor["loss_scale_factor"]})
    return config, actor


def verl_loss_case(batch, advantages, options):
    """verl.workers.utils.losses.ppo_loss without entropy: the registered policy loss with the
    configured loss_agg_mode, plus kl_loss_coef · agg_loss(kl_penalty(...))."""
    config, actor = verl_actor(options)
    mask = torch.tensor(batch["mask"]).bool()
    logprobs = torch.tensor(batch["logprobs"], requires_grad=True)
    policy_loss, _ = core_algos.get_policy_loss_fn(actor["loss_mode"])(
        old_log_prob=torch.tensor(batch["old_logprobs"]), log_prob=logprobs, advantages=advantages,
        response_mask=mask, loss_agg_mode=actor["loss_agg_mode"], config=config, rollout_is_weights=None)
    loss = policy_loss
    if actor["use_kl_loss"]:
        kld = core_algos.kl_penalty(logprob=logprobs, ref_logprob=torch.tensor(batch["ref_logprobs"]),
                                    kl_penalty=actor["kl_loss_type"])
        kl_loss = core_algos.agg_loss(loss_mat=kld, loss_mask=mask, loss_agg_mode=actor["loss_agg_mode"],
                                      **config.global_batch_info)
        loss = loss + kl_loss * actor["kl_loss_coef"]
    loss.backward()
    return {"name": f"verl {json.dumps(options, sort_keys=True)}", "actor": actor, "loss": loss.item(),
            "gradient": logprobs.grad.tolist()}


def verl_cases():
    rewards = [1.0, 0.0, 0.5, 1.0,   0.75, 0.75, 0.75,   0.0, 1.5, 1.0, 0.5, 0.0,   0.5]
    batch = make_batch(23, [4, 3, 5, 1], rewards, extreme_log_ratio=25.0)
    count = len(rewards)
    components = {"values": [[1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1], [0.5, 0.25, 0.0, 0.75, 0.5, 0.5, 0.5, 0.0,
                                                                        1.0, 0.25, 0.5, 0.75, 0.25]],
                  "weights": [1.0, 0.5]}
    estimators = [verl_estimator_case(batch, "grpo", count),
                  verl_estimator_case(batch, "grpo", count, {"norm_adv_by_std_in_grpo": False}),
                  verl_estimator_case(batch, "grpo_passk", count - 1),
                  verl_estimator_case(batch, "opo", count),
                  verl_estimator_case(batch, "rloo", count - 1),
                  verl_estimator_case(batch, "reinforce_plus_plus", count),
                  verl_estimator_case(batch, "reinforce_plus_plus", count, {"gamma": 0.9}),
                  verl_estimator_case(batch, "gae", count, {"gamma": 0.9, "lam": 0.8}),
                  verl_estimator_case(batch, "gdpo", count, components=components)]
    scores, mask = verl_scores(batch, count)
    advantages, _ = core_algos.compute_grpo_outcome_advantage(scores, mask, group_index(batch, count))
    kl = {"use_kl_loss": True, "kl_loss_coef": 0.05}
    losses = [verl_loss_case(batch, advantages, options) for options in [
        {},
        {"loss_agg_mode": "seq-mean-token-mean"},
        {"loss_agg_mode": "seq-mean-token-sum"},
        {"loss_agg_mode": "seq-mean-token-sum-norm"},
        {"loss_agg_mode": "seq-mean-token-sum-norm", "loss_scale_factor": 64},
        {"loss_agg_mode": "token-sum"},
        {"clip_ratio_high": 0.28, "clip_ratio_c": 10.0},
        {**kl},
        {**kl, "kl_loss_type": "kl"},
        {**kl, "kl_loss_type": "abs"},
        {**kl, "kl_loss_type": "mse"},
        {**kl, "kl_loss_type": "k3+"},
        {**kl, "loss_agg_mode": "seq-mean-token-mean"},
        {"loss_mode": "gspo", "clip_ratio_low": 3e-4, "clip_ratio_high": 4e-4, "loss_agg_mode": "seq-mean-token-mean"},
        {**kl, "loss_mode": "gspo", "clip_ratio_low": 3e-4, "clip_ratio_high": 4e-4},
        {"loss_mode": "sapo"},
        {**kl, "loss_mode": "sapo", "tau_pos": 2.0},
        {"loss_mode": "geo_mean", "clip_ratio_low": 0.4, "clip_ratio_high": 0.4},
        {**kl, "loss_mode": "geo_mean", "clip_ratio_low": 0.4, "clip_ratio_high": 0.4},
        {"loss_mode": "cispo", "clip_ratio_low": 1.0, "clip_ratio_high": 0.28},
        {**kl, "loss_mode": "cispo", "clip_ratio_low": 0.5, "clip_ratio_high": 4.0,
         "loss_agg_mode": "seq-mean-token-mean"},
    ]]
    return {"version": verl.__version__, "batch": batch_json(batch), "loss_advantages": advantages.tolist(),
            "estimators": estimators, "losses": losses}


# ---- OpenRLHF -----------------------------------------------------------------------------

def openrlhf_advantage_case(batch, options):
    """RemoteExperienceMaker.compute_advantages_and_returns for one experience holding the batch:
    rewards shaped by −kl_coef · KL(old ‖ ref) (compute_approx_kl), returns, whitening."""
    options = {"estimator": "reinforce", "gamma": 1.0, "init_coef": 0.01, "kl_estimator": "k1", **options}
    group_size = batch["group_sizes"][0]
    mask = torch.tensor(batch["mask"]).bool()
    old, ref = torch.tensor(batch["old_logprobs"]), torch.tensor(batch["ref_logprobs"])
    count = mask.shape[0]
    experience = types.SimpleNamespace(
        rewards=torch.tensor(batch["rewards"]), index=list(range(count)), action_mask=mask, info={}, values=None,
        kl=compute_approx_kl(old, ref, kl_estimator=options["kl_estimator"]))
    args = types.SimpleNamespace(
        algo=types.SimpleNamespace(advantage=types.SimpleNamespace(estimator=options["estimator"],
                                                                   gamma=options["gamma"], no_std_norm=False)),
        rollout=types.SimpleNamespace(n_samples_per_prompt=group_size),
        reward=types.SimpleNamespace(clip_range=None, overlong_buffer_len=None, stop_properly_penalty_coef=None))
    maker = RemoteExperienceMaker.__new__(RemoteExperienceMaker)  # its methods, without the actor groups
    maker.strategy = types.SimpleNamespace(args=args)
    maker.kl_ctl = types.SimpleNamespace(value=options["init_coef"])
    maker.advantage_estimator = options["estimator"]
    maker.compute_advantages_and_returns([experience])
    return {"name": f"openrlhf {json.dumps(options, sort_keys=True)}", "options": options,
            "advantages": experience.advantages.tolist()}


def openrlhf_loss_case(batch, advantages, options):
    options = {"eps_clip_low_high": [0.2, 0.2], "dual_clip": None, "loss_agg_mode": "token-mean", **options}
    loss_fn = PolicyLoss(clip_eps_low=options["eps_clip_low_high"][0], clip_eps_high=options["eps_clip_low_high"][1],
                         dual_clip=options["dual_clip"], token_level_loss=options["loss_agg_mode"] == "token-mean")
    logprobs = torch.tensor(batch["logprobs"], requires_grad=True)
    loss = loss_fn(logprobs, torch.tensor(batch["old_logprobs"]), advantages,
                   action_mask=torch.tensor(batch["mask"]).bool())[0]
    loss.backward()
    return {"name": f"openrlhf {json.dumps(options, sort_keys=True)}", "options": options, "loss": loss.item(),
            "gradient": logprobs.grad.tolist()}


def openrlhf_cases():
    rewards = [1.0, 0.0, 0.5, 1.0,   0.25, 0.25, 0.25, 0.25,   0.0, 1.5, 1.0, 0.5]
    # Log-ratios of ±6: OpenRLHF's k1 and k2 values are clamped at ±10 as rlft's are.
    batch = make_batch(31, [4, 4, 4], rewards, extreme_log_ratio=6.0)
    estimators = [openrlhf_advantage_case(batch, options) for options in [
        {},
        {"gamma": 0.9, "init_coef": 0.05, "kl_estimator": "k3"},
        {"estimator": "reinforce_baseline", "kl_estimator": "k2", "init_coef": 0.05},
    ]]
    advantages = torch.tensor(estimators[0]["advantages"])
    losses = [openrlhf_loss_case(batch, advantages, options) for options in [
        {},
        {"eps_clip_low_high": [0.2, 0.28], "dual_clip": 3.0},
        {"loss_agg_mode": "seq-mean-token-mean"},
    ]]
    return {"version": importlib.metadata.version("openrlhf"), "batch": batch_json(batch), "loss_advantages": advantages.tolist(),
            "estimators": estimators, "losses": losses}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "presets",
                                                              "golden", "peers.json")
    torch.manual_seed(0)
    fixture = {"trl": trl_cases(), "verl": verl_cases(), "openrlhf": openrlhf_cases()}
    for peer in fixture.values():
        for case in peer.get("cases", []) + peer.get("losses", []):
            assert math.isfinite(case["loss"]), case["name"]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
