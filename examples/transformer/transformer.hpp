// The reference transformer: a decoder-only Qwen2/Llama network on the CPU in fp32 that
// satisfies rlft::policy (and rlft::entropy_policy). It computes per-token log-probs and
// entropies of a padding-free ragged batch (all sequences' tokens packed into one matrix, so the
// linear layers are single GEMMs and attention runs per sequence), back-propagates
// dL/d(log-prob) and dL/d(entropy) into every parameter, generates with a KV cache and any
// rlft::sampler, and loads and saves Hugging Face checkpoints (config.json + safetensors, the
// parameter names of transformers' Qwen2ForCausalLM / LlamaForCausalLM).
//
// With a score head (config.head, transformers' Qwen2ForSequenceClassification /
// LlamaForSequenceClassification with num_labels 1) the same network is a reward or value model
// (rlft::value_model): one value per token, v_t = w_score · rmsnorm(h_t), the last token's being
// the sequence's score, and the back-propagation of dL/d(value).
//
// The network (Touvron et al., arXiv 2302.13971; Qwen2 report, arXiv 2407.10671, section 2.1):
//   h = embed(tokens)
//   per layer: h += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))), n = rmsnorm(h)
//              h += down_proj(silu(gate_proj(n)) ⊙ up_proj(n)),                   n = rmsnorm(h)
//   logits = lm_head(rmsnorm(h))
// Forward linear layers use row_stable_gemm and the row kernels of transformer_kernels.hpp in
// both the training forward and the decoder, so the log-prob reported while sampling equals the
// training log-prob of the same token bit for bit. The backward pass uses the same GEMM kernel
// (measured faster than Eigen's GEMM and on par with OpenBLAS, bench/RESULTS.md), so gradients
// do not depend on the thread count either.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlft/concepts/policy.hpp"
#include "rlft/concepts/sampler.hpp"
#include "rlft/concepts/value_model.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/io/safetensors.hpp"
#include "rlft/io/safetensors_checkpoint.hpp"

#include "row_stable_gemm.hpp"
#include "transformer_config.hpp"
#include "transformer_kernels.hpp"

namespace rlft::examples {

struct transformer_tuning {
  // Rows of logits materialised at once (at least this many floats per chunk: 4 Mi = 16 MiB),
  // so the vocabulary projection never holds the whole [tokens × vocabulary] matrix.
  std::size_t logits_chunk_floats = std::size_t{1} << 22;
  std::size_t min_logits_chunk_rows = 64;
};
inline constexpr transformer_tuning transformer_defaults{};

class transformer {
 public:
  // A randomly initialised model: normal(0, 0.02) weights as transformers' initializer_range,
  // zero biases, unit norm weights; the draws come from Philox stream `seed`.
  explicit transformer(transformer_config config, std::uint64_t seed = 0) : config_(std::move(config)) {
    config_.validate();
    build_layout();
    allocate_parameters();
    for (std::size_t p = 0; p < layout_.size(); ++p) {
      const auto& entry = layout_[p];
      float* data = values_.data() + entry.offset;
      if (entry.kind == parameter_kind::norm) {
        std::fill(data, data + entry.size(), 1.0f);
      } else if (entry.kind == parameter_kind::matrix) {
        philox_stream rng(seed, p);
        for (std::size_t i = 0; i < entry.size(); i += 2) {
          // Box–Muller: two normal draws from two uniforms.
          const double radius = std::sqrt(-2.0 * std::log(static_cast<double>(rng.uniform_nonzero())));
          const double angle = 2.0 * std::numbers::pi * rng.uniform();
          data[i] = static_cast<float>(0.02 * radius * std::cos(angle));
          if (i + 1 < entry.size()) data[i + 1] = static_cast<float>(0.02 * radius * std::sin(angle));
        }
      }
    }
  }

  // Loads a Hugging Face checkpoint directory (config.json + model.safetensors or shards). The
  // config is checked against transformer_limits and every tensor the config implies against the
  // checkpoint's (present, same shape) before anything is allocated: a config that disagrees with
  // its weights is an rlft::io_error naming the tensor.
  static transformer from_pretrained(const std::filesystem::path& directory) {
    auto config = read_transformer_config(directory);
    const io::safetensors_checkpoint checkpoint(directory);
    return transformer(std::move(config), checkpoint);
  }

  const transformer_config& config() const noexcept { return config_; }
  std::size_t num_parameters() const noexcept { return total_parameters_; }

  // ---- rlft::policy ----------------------------------------------------------------------

  // log p(token_t | tokens_<t) for every token (entry 0 of each sequence is 0). Caches the
  // activations that backward() needs. Throws rlft::error for a wrong output size or a token
  // outside the vocabulary.
  void log_probs(token_sequences_view sequences, std::span<float> logprobs) {
    require_head(transformer_head::language_model, "log_probs");
    forward(sequences, logprobs, {}, {});
  }

  // Also the entropy of each predictive distribution (entry t: of the distribution of token t).
  void log_probs(token_sequences_view sequences, std::span<float> logprobs, std::span<float> entropy) {
    require_head(transformer_head::language_model, "log_probs");
    if (entropy.size() != sequences.num_tokens())
      throw error(::rlft::detail::make_message("transformer: entropy has ", entropy.size(), " entries for ",
                                               sequences.num_tokens(), " tokens"));
    forward(sequences, logprobs, entropy, {});
  }

  // The raw logits of every token's next-token distribution (num_tokens × vocab_size).
  void logits(token_sequences_view sequences, std::span<float> out) {
    require_head(transformer_head::language_model, "logits");
    if (out.size() != sequences.num_tokens() * config_.vocab_size)
      throw error(::rlft::detail::make_message("transformer: logits output has ", out.size(), " entries, expected ",
                                               sequences.num_tokens() * config_.vocab_size));
    std::vector<float> unused(sequences.num_tokens());
    forward(sequences, unused, {}, out);
  }

  // Accumulates dL/dθ for the sequences of the latest log_probs call. Throws rlft::error when
  // the sequences differ from that call's or the gradient has the wrong size.
  void backward(token_sequences_view sequences, std::span<const float> dlogp) { backward(sequences, dlogp, {}); }

  void backward(token_sequences_view sequences, std::span<const float> dlogp, std::span<const float> dentropy);

  // ---- rlft::value_model (a score head) ---------------------------------------------------

  // The score head's value of every token (transformers' ForSequenceClassification output
  // before it pools the last token; TRL and veRL read a value model this way). Caches the
  // activations that backward_values() needs. Throws rlft::error for a wrong output size, a
  // token outside the vocabulary or a model with an LM head.
  void values(token_sequences_view sequences, std::span<float> out);

  // Accumulates dL/dθ for dL/d(value) of the sequences of the latest values() call.
  void backward_values(token_sequences_view sequences, std::span<const float> dvalues);

  void zero_grad() {
    if (gradients_.empty()) allocate_gradients();
    std::fill(gradients_.begin(), gradients_.end(), 0.0f);
  }

  // Values and gradients of every parameter, by transformers' names.
  std::vector<parameter_ref> parameters() {
    allocate_gradients();
    std::vector<parameter_ref> result;
    result.reserve(layout_.size());
    for (const auto& entry : layout_)
      result.push_back({entry.name, std::span<float>(values_.data() + entry.offset, entry.size()),
                        std::span<float>(gradients_.data() + entry.offset, entry.size())});
    return result;
  }

  // Samples completions_per_prompt continuations of every prompt with a KV cache. Group p of the
  // result holds prompt p's completions; completion c of the call draws from Philox stream
  // options.first_stream + c at counter = decoding step. sampling_logprobs holds the model's
  // own log-prob of each drawn token under its untempered softmax, computed by the same
  // kernels as log_probs (so the two agree bitwise); truncated marks completions that hit
  // max_new_tokens without a stop token.
  template <sampler Sampler>
  rollout_batch generate(token_sequences_view prompts, std::size_t completions_per_prompt, const Sampler& sampler,
                         const generation_options& options);

  // Writes config.json and model.safetensors (dtype F32, F16 or BF16), each atomically; the
  // weights go first, so an interrupted save never pairs a new config with old weights of
  // another shape.
  void save(const std::filesystem::path& directory, io::tensor_dtype dtype = io::tensor_dtype::f32) const {
    std::filesystem::create_directories(directory);
    std::vector<io::tensor_to_save> tensors;
    for (const auto& entry : layout_)
      tensors.push_back({entry.name, entry.shape, std::span<const float>(values_.data() + entry.offset, entry.size())});
    io::save_safetensors(directory / "model.safetensors", tensors, dtype, {{"format", "pt"}});
    write_transformer_config(config_, directory, dtype);
  }

  // Replaces this model by the checkpoint in `directory` (any shape); on failure (rlft::io_error)
  // the model is unchanged.
  void load(const std::filesystem::path& directory) { *this = from_pretrained(directory); }

 private:
  enum class parameter_kind { matrix, bias, norm };

  struct parameter_entry {
    std::string name;
    std::vector<std::int64_t> shape;
    std::size_t offset = 0;
    parameter_kind kind = parameter_kind::matrix;
    std::size_t size() const {
      std::size_t n = 1;
      for (const auto extent : shape) n *= static_cast<std::size_t>(extent);
      return n;
    }
  };

  // Offsets of one layer's tensors in the flat parameter array. q, k and v (weights and
  // biases) and gate and up are adjacent, so each group is one fused matrix.
  struct layer_offsets {
    std::size_t input_norm = 0, qkv_weight = 0, qkv_bias = 0, o_weight = 0, post_norm = 0, gate_up_weight = 0,
                down_weight = 0;
  };

  // Per-call buffers; copying a model (a reference snapshot) does not copy them.
  struct layer_activations {
    std::vector<float> residual_in, inverse_rms_attention, normed_attention, qkv, attention_out, attention_lse,
        residual_mid, inverse_rms_mlp, normed_mlp, gate_up, act;
  };
  struct workspace {
    workspace() = default;
    workspace(const workspace&) {}
    workspace& operator=(const workspace&) { return *this; }
    workspace(workspace&&) = default;
    workspace& operator=(workspace&&) = default;

    std::vector<layer_activations> layers;
    std::vector<float> residual_out, residual_scratch, inverse_rms_final, normed_final, log_sum_exp, entropy, logits_chunk;
    std::vector<token_id> tokens;  // the batch of the latest forward, checked by backward
    std::vector<std::int64_t> offsets;
    std::vector<std::size_t> positions, sequence_of_row;
    bool has_forward = false;
    // The packed forward weights, valid during one forward or generate call.
    std::vector<packed_weight> packed_qkv, packed_o, packed_gate_up, packed_down;
    packed_weight packed_head;
    rotary_table rotary;
    float rotary_theta = 0.0f;  // what `rotary` was built for
    std::size_t rotary_dim = 0;
    packed_weight packed_operand;       // operands of linear_backward
    packed_weight packed_head_columns;  // the LM head by columns, for every row chunk of a backward
    std::vector<float> transposed;
    std::vector<float> residual_gradient, normed_gradient, act_gradient, gate_up_gradient, attention_gradient,
        qkv_gradient;
    std::vector<attention_backward_workspace> attention_scratch;  // one per thread
  };

  // A generate call's state, shared by its decoders. Each decoder owns a disjoint set of
  // completions and writes only their entries (tokens, log-probs, flags and cache rows).
  struct generation_state {
    std::size_t completions_per_prompt = 0;
    std::vector<float> prompt_logits;  // the first step's logits, one row per prompt
    std::size_t cache_row = 0;         // one token's keys, then its values
    std::vector<std::size_t> cache_begin;  // completion i's cache rows: cache_begin[i] to cache_begin[i + 1]
    std::vector<std::vector<float>> cache;  // per layer
    std::vector<std::vector<token_id>> tokens;  // prompt, then the drawn tokens
    std::vector<std::vector<float>> drawn_logprobs;
    std::vector<std::uint8_t> truncated;
  };
  // One decoder's buffers, reused from step to step. Row r of `logits` belongs to the r-th
  // active completion.
  struct decoder_buffers {
    std::vector<float> logits, h, scratch, normed, inverse_rms, scores, softmax_scratch;
    std::vector<std::size_t> positions;
    layer_activations activations;
  };

  void add_parameter(std::string name, std::vector<std::int64_t> shape, parameter_kind kind) {
    parameter_entry entry{std::move(name), std::move(shape), total_parameters_, kind};
    total_parameters_ += entry.size();
    layout_.push_back(std::move(entry));
  }

  void build_layout() {
    const auto& c = config_;
    const auto h = static_cast<std::int64_t>(c.hidden_size);
    const auto i_size = static_cast<std::int64_t>(c.intermediate_size);
    const auto q = static_cast<std::int64_t>(c.query_width());
    const auto kv = static_cast<std::int64_t>(c.kv_width());
    add_parameter("model.embed_tokens.weight", {static_cast<std::int64_t>(c.vocab_size), h}, parameter_kind::matrix);
    for (std::size_t l = 0; l < c.num_layers; ++l) {
      const std::string prefix = "model.layers." + std::to_string(l) + ".";
      layer_offsets offsets;
      offsets.input_norm = total_parameters_;
      add_parameter(prefix + "input_layernorm.weight", {h}, parameter_kind::norm);
      offsets.qkv_weight = total_parameters_;
      add_parameter(prefix + "self_attn.q_proj.weight", {q, h}, parameter_kind::matrix);
      add_parameter(prefix + "self_attn.k_proj.weight", {kv, h}, parameter_kind::matrix);
      add_parameter(prefix + "self_attn.v_proj.weight", {kv, h}, parameter_kind::matrix);
      offsets.qkv_bias = total_parameters_;
      if (c.attention_bias) {
        add_parameter(prefix + "self_attn.q_proj.bias", {q}, parameter_kind::bias);
        add_parameter(prefix + "self_attn.k_proj.bias", {kv}, parameter_kind::bias);
        add_parameter(prefix + "self_attn.v_proj.bias", {kv}, parameter_kind::bias);
      }
      offsets.o_weight = total_parameters_;
      add_parameter(prefix + "self_attn.o_proj.weight", {h, q}, parameter_kind::matrix);
      offsets.post_norm = total_parameters_;
      add_parameter(prefix + "post_attention_layernorm.weight", {h}, parameter_kind::norm);
      offsets.gate_up_weight = total_parameters_;
      add_parameter(prefix + "mlp.gate_proj.weight", {i_size, h}, parameter_kind::matrix);
      add_parameter(prefix + "mlp.up_proj.weight", {i_size, h}, parameter_kind::matrix);
      offsets.down_weight = total_parameters_;
      add_parameter(prefix + "mlp.down_proj.weight", {h, i_size}, parameter_kind::matrix);
      layers_.push_back(offsets);
    }
    final_norm_ = total_parameters_;
    add_parameter("model.norm.weight", {h}, parameter_kind::norm);
    lm_head_ = 0;  // tied: the embedding matrix
    if (c.head == transformer_head::score) {
      score_head_ = total_parameters_;
      add_parameter("score.weight", {1, h}, parameter_kind::matrix);
    } else if (!c.tie_word_embeddings) {
      lm_head_ = total_parameters_;
      add_parameter("lm_head.weight", {static_cast<std::int64_t>(c.vocab_size), h}, parameter_kind::matrix);
    }
  }

  transformer(transformer_config config, const io::safetensors_checkpoint& checkpoint) : config_(std::move(config)) {
    config_.validate();
    build_layout();
    for (const auto& entry : layout_) {
      if (!checkpoint.contains(entry.name))
        throw io_error(::rlft::detail::make_message("checkpoint lacks tensor '", entry.name, "'"));
      const auto& stored = checkpoint.at(entry.name);
      if (stored.shape != entry.shape)
        throw io_error(::rlft::detail::make_message("checkpoint tensor '", entry.name, "' has shape ",
                                                    shape_text(stored.shape), ", the config needs ", shape_text(entry.shape)));
    }
    allocate_parameters();
    for (const auto& entry : layout_)
      checkpoint.read(entry.name, std::span<float>(values_.data() + entry.offset, entry.size()));
  }

  void allocate_parameters() { values_.assign(total_parameters_, 0.0f); }

  // Gradients come with the first backward, zero_grad or parameters() call: a model used only to
  // generate (or as a reference policy) never holds them, which halves its memory.
  void allocate_gradients() {
    if (gradients_.size() != total_parameters_) gradients_.assign(total_parameters_, 0.0f);
  }

  static std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
  }

  const float* parameter(std::size_t offset) const noexcept { return values_.data() + offset; }
  float* gradient(std::size_t offset) noexcept { return gradients_.data() + offset; }

  void require_head(transformer_head head, const char* operation) const {
    if (config_.head != head)
      throw error(::rlft::detail::make_message(
          "transformer: ", operation, " needs ",
          head == transformer_head::score ? "a score head (a …ForSequenceClassification checkpoint)"
                                          : "an LM head (a …ForCausalLM checkpoint)",
          "; this model has ", config_.head == transformer_head::score ? "a score head" : "an LM head"));
  }

  // backward() and backward_values() take the sequences of the latest forward.
  void check_backward_sequences(token_sequences_view sequences, const char* forward_name) const {
    const auto& w = work_;
    if (!w.has_forward || !std::ranges::equal(sequences.tokens(), w.tokens) ||
        sequences.size() != w.offsets.size() - 1 ||
        !std::ranges::equal(sequences.offsets(), w.offsets, [&](std::int64_t a, std::int64_t b) {
          return a - sequences.offsets().front() == b - w.offsets.front();
        }))
      throw error(::rlft::detail::make_message("transformer: backward needs the sequences of the latest ",
                                               forward_name, " call"));
  }

  void check_tokens(token_sequences_view sequences) const {
    const auto tokens = sequences.tokens();
    for (std::size_t t = 0; t < tokens.size(); ++t)
      if (tokens[t] < 0 || static_cast<std::size_t>(tokens[t]) >= config_.vocab_size)
        throw error(::rlft::detail::make_message("transformer: token ", t, " has id ", tokens[t], " outside the vocabulary of ",
                                                 config_.vocab_size));
  }

  void pack_weights() {
    const auto& c = config_;
    auto& w = work_;
    w.packed_qkv.resize(c.num_layers);
    w.packed_o.resize(c.num_layers);
    w.packed_gate_up.resize(c.num_layers);
    w.packed_down.resize(c.num_layers);
    for (std::size_t l = 0; l < c.num_layers; ++l) {
      const auto& o = layers_[l];
      w.packed_qkv[l].pack({parameter(o.qkv_weight), c.qkv_width() * c.hidden_size},
                           c.attention_bias ? std::span<const float>(parameter(o.qkv_bias), c.qkv_width())
                                            : std::span<const float>{},
                           c.qkv_width(), c.hidden_size);
      w.packed_o[l].pack({parameter(o.o_weight), c.hidden_size * c.query_width()}, {}, c.hidden_size, c.query_width());
      w.packed_gate_up[l].pack({parameter(o.gate_up_weight), 2 * c.intermediate_size * c.hidden_size}, {},
                               2 * c.intermediate_size, c.hidden_size);
      w.packed_down[l].pack({parameter(o.down_weight), c.hidden_size * c.intermediate_size}, {}, c.hidden_size,
                            c.intermediate_size);
    }
    if (c.head == transformer_head::language_model)
      w.packed_head.pack({parameter(lm_head_), c.vocab_size * c.hidden_size}, {}, c.vocab_size, c.hidden_size);
    if (w.rotary_theta != c.rope_theta || w.rotary_dim != c.head_dim) {
      w.rotary = rotary_table(c.head_dim, c.rope_theta);
      w.rotary_theta = c.rope_theta;
      w.rotary_dim = c.head_dim;
    }
  }

  void forward(token_sequences_view sequences, std::span<float> logprobs, std::span<float> entropy,
               std::span<float> all_logits);
  // The forward up to the final norm (work_.normed_final): what generation's prefill needs.
  void forward_hidden(token_sequences_view sequences);

  // Backward of Y = X · Wᵀ over `rows` rows: dX = dY · W (overwritten) and dW += dYᵀ · X, both
  // with row_stable_gemm (thread-count independent; faster than Eigen's GEMM here, see
  // bench/RESULTS.md). `weight_columns`: W already packed by columns, or null to pack it here.
  void linear_backward(const float* doutput, std::size_t rows, std::size_t out_features, const float* input,
                       std::size_t in_features, std::size_t weight_offset, float* dinput,
                       const packed_weight* weight_columns = nullptr) {
    auto& w = work_;
    if (!weight_columns) {
      w.packed_operand.pack_columns({parameter(weight_offset), out_features * in_features}, out_features, in_features);
      weight_columns = &w.packed_operand;
    }
    row_stable_gemm(doutput, out_features, rows, *weight_columns, dinput, in_features);
    // dYᵀ made contiguous first, so that the kernel reads both operands by rows.
    w.transposed.resize(out_features * rows);
    transpose(doutput, rows, out_features, w.transposed.data());
    w.packed_operand.pack_columns({input, rows * in_features}, rows, in_features);
    row_stable_gemm(w.transposed.data(), rows, out_features, w.packed_operand, gradient(weight_offset), in_features,
                    /*accumulate=*/true);
  }

  // The backward steps, in the order backward() runs them. They hand the gradient on through
  // the workspace: the LM head leaves dL/d(final norm output) in work_.normed_gradient, and
  // each layer turns dL/d(its output) in work_.residual_gradient into dL/d(its input) there.
  void lm_head_backward(token_sequences_view sequences, std::span<const float> dlogp, std::span<const float> dentropy);
  void logits_gradient(token_sequences_view sequences, std::span<const float> dlogp, std::span<const float> dentropy,
                       std::size_t first, std::size_t count, float* logits) const;
  void norm_backward(std::size_t rows, const float* input, const float* inverse_rms, std::size_t weight_offset,
                     const float* dout, float* dinput);
  void layer_backward(std::size_t l, token_sequences_view sequences);
  void mlp_block_backward(std::size_t l, std::size_t rows);
  void attention_block_backward(std::size_t l, token_sequences_view sequences);
  void attention_heads_backward(std::size_t l, token_sequences_view sequences);
  void embedding_backward(std::size_t rows);
  // From dL/d(final norm output) in work_.normed_gradient to every parameter below the head.
  void backward_below_head(token_sequences_view sequences);

  // The generation steps: prefill() runs the prompts through the model once and fills every
  // completion's cache with its prompt's keys and values; each decoder then alternates
  // sample_step() and decode_step() over its completions until all have stopped.
  void check_generation_request(token_sequences_view prompts, std::size_t completions_per_prompt,
                                const generation_options& options) const;
  generation_state prefill(token_sequences_view prompts, std::size_t completions_per_prompt,
                           std::size_t max_new_tokens);
  void cache_prompts(token_sequences_view prompts, std::size_t max_new_tokens, generation_state& state) const;
  template <sampler Sampler>
  void decode_completions(std::span<const std::size_t> subset, const Sampler& sampler,
                          const generation_options& options, generation_state& state);
  template <sampler Sampler>
  std::vector<std::size_t> sample_step(std::span<const std::size_t> active, std::uint32_t step, const Sampler& sampler,
                                       const generation_options& options, decoder_buffers& buffers,
                                       generation_state& state) const;
  void decode_step(std::span<const std::size_t> active, decoder_buffers& buffers, generation_state& state);
  static rollout_batch to_rollout_batch(token_sequences_view prompts, const generation_state& state);

  // One decoder layer over `rows` rows (residual stream `h`, updated in place). Attention is
  // delegated to `attend(qkv, attention_out, lse)`, the only step where the training forward
  // and the decoder differ (where keys and values come from).
  template <class Attend>
  void layer_forward(std::size_t l, std::size_t rows, const std::size_t* positions, float* h, layer_activations& a,
                     float* scratch, Attend&& attend);

  transformer_config config_;
  std::vector<parameter_entry> layout_;
  std::vector<layer_offsets> layers_;
  std::size_t final_norm_ = 0;
  std::size_t lm_head_ = 0;
  std::size_t score_head_ = 0;
  std::size_t total_parameters_ = 0;
  std::vector<float> values_;
  std::vector<float> gradients_;
  workspace work_;
};

// ---- forward -----------------------------------------------------------------------------

template <class Attend>
void transformer::layer_forward(std::size_t l, std::size_t rows, const std::size_t* positions, float* h,
                                layer_activations& a, float* scratch, Attend&& attend) {
  const auto& c = config_;
  const auto& o = layers_[l];
  const std::size_t width = c.hidden_size;
  const auto count = static_cast<std::ptrdiff_t>(rows);
  a.residual_in.assign(h, h + rows * width);
  a.inverse_rms_attention.resize(rows);
  a.normed_attention.resize(rows * width);
  rms_norm_rows(h, rows, width, parameter(o.input_norm), c.rms_norm_eps, a.normed_attention.data(),
                a.inverse_rms_attention.data());
  a.qkv.resize(rows * c.qkv_width());
  row_stable_gemm(a.normed_attention.data(), width, rows, work_.packed_qkv[l], a.qkv.data(), c.qkv_width());
  work_.rotary.reserve(1 + *std::max_element(positions, positions + rows));
#pragma omp parallel for schedule(static) if (rows > 64)
  for (std::ptrdiff_t r = 0; r < count; ++r) {
    const auto row = static_cast<std::size_t>(r);
    // q and k heads are adjacent in the fused row: rotate num_heads + num_kv_heads heads at once.
    apply_rotary(a.qkv.data() + row * c.qkv_width(), c.num_heads + c.num_kv_heads, c.head_dim,
                 work_.rotary.cos(positions[row]), work_.rotary.sin(positions[row]));
  }
  a.attention_out.resize(rows * c.query_width());
  a.attention_lse.resize(rows * c.num_heads);
  attend(a.qkv.data(), a.attention_out.data(), a.attention_lse.data());

  row_stable_gemm(a.attention_out.data(), c.query_width(), rows, work_.packed_o[l], scratch, width);
  for (std::size_t i = 0; i < rows * width; ++i) h[i] += scratch[i];
  a.residual_mid.assign(h, h + rows * width);
  a.inverse_rms_mlp.resize(rows);
  a.normed_mlp.resize(rows * width);
  rms_norm_rows(h, rows, width, parameter(o.post_norm), c.rms_norm_eps, a.normed_mlp.data(), a.inverse_rms_mlp.data());
  const std::size_t inner = c.intermediate_size;
  a.gate_up.resize(rows * 2 * inner);
  row_stable_gemm(a.normed_mlp.data(), width, rows, work_.packed_gate_up[l], a.gate_up.data(), 2 * inner);
  a.act.resize(rows * inner);
#pragma omp parallel for schedule(static) if (rows * inner > 16384)
  for (std::ptrdiff_t r = 0; r < count; ++r) {
    const auto row = static_cast<std::size_t>(r);
    swiglu_row(a.gate_up.data() + row * 2 * inner, inner, a.act.data() + row * inner);
  }
  row_stable_gemm(a.act.data(), inner, rows, work_.packed_down[l], scratch, width);
  for (std::size_t i = 0; i < rows * width; ++i) h[i] += scratch[i];
}

inline void transformer::forward_hidden(token_sequences_view sequences) {
  const auto& c = config_;
  auto& w = work_;
  const std::size_t rows = sequences.num_tokens();
  check_tokens(sequences);
  w.has_forward = false;
  w.tokens.assign(sequences.tokens().begin(), sequences.tokens().end());
  w.offsets.assign(sequences.offsets().begin(), sequences.offsets().end());
  w.positions.resize(rows);
  w.sequence_of_row.resize(rows);
  for (std::size_t s = 0; s < sequences.size(); ++s)
    for (std::size_t t = 0; t < sequences.length(s); ++t) {
      w.positions[sequences.begin(s) + t] = t;
      w.sequence_of_row[sequences.begin(s) + t] = s;
    }
  if (rows == 0) return;
  pack_weights();

  const std::size_t width = c.hidden_size;
  // The residual stream is updated in place and ends as the final layer's output.
  auto& h = w.residual_out;
  h.resize(rows * width);
  for (std::size_t r = 0; r < rows; ++r)
    std::copy_n(parameter(0) + static_cast<std::size_t>(w.tokens[r]) * width, width, h.data() + r * width);
  auto& scratch = w.residual_scratch;
  scratch.resize(rows * width);
  w.layers.resize(c.num_layers);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::size_t group = c.num_heads / c.num_kv_heads;
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    layer_forward(l, rows, w.positions.data(), h.data(), w.layers[l], scratch.data(),
                  [&](const float* qkv, float* out, float* lse) {
                    const auto tasks = static_cast<std::ptrdiff_t>(rows * c.num_heads);
#pragma omp parallel
                    {
                      std::vector<float> scores;
#pragma omp for schedule(dynamic, 16)
                      for (std::ptrdiff_t task = 0; task < tasks; ++task) {
                        const std::size_t row = static_cast<std::size_t>(task) / c.num_heads;
                        const std::size_t head = static_cast<std::size_t>(task) % c.num_heads;
                        const std::size_t first = sequences.begin(w.sequence_of_row[row]);
                        const std::size_t count = w.positions[row] + 1;
                        scores.resize(std::max(scores.size(), count));
                        const float* keys = qkv + first * c.qkv_width() + c.query_width() + (head / group) * c.head_dim;
                        lse[row * c.num_heads + head] = attention_row(
                            qkv + row * c.qkv_width() + head * c.head_dim, keys, keys + c.kv_width(), c.qkv_width(),
                            count, c.head_dim, scale, scores.data(), out + row * c.query_width() + head * c.head_dim);
                      }
                    }
                  });
  }
  w.inverse_rms_final.resize(rows);
  w.normed_final.resize(rows * width);
  rms_norm_rows(w.residual_out.data(), rows, width, parameter(final_norm_), c.rms_norm_eps, w.normed_final.data(),
                w.inverse_rms_final.data());
}

inline void transformer::forward(token_sequences_view sequences, std::span<float> logprobs, std::span<float> entropy,
                                 std::span<float> all_logits) {
  const auto& c = config_;
  auto& w = work_;
  const std::size_t rows = sequences.num_tokens();
  if (logprobs.size() != rows)
    throw error(::rlft::detail::make_message("transformer: log-prob output has ", logprobs.size(), " entries for ", rows,
                                             " tokens"));
  forward_hidden(sequences);
  if (rows == 0) {
    w.has_forward = true;
    return;
  }
  const std::size_t width = c.hidden_size;

  // Vocabulary projection in chunks of rows; entry t + 1 of the outputs comes from row t.
  w.log_sum_exp.assign(rows, 0.0f);
  w.entropy.assign(rows, 0.0f);
  std::fill(logprobs.begin(), logprobs.end(), 0.0f);
  const std::size_t chunk = std::max(transformer_defaults.min_logits_chunk_rows,
                                     transformer_defaults.logits_chunk_floats / c.vocab_size);
  for (std::size_t first = 0; first < rows; first += chunk) {
    const std::size_t count = std::min(chunk, rows - first);
    float* logits = nullptr;
    if (!all_logits.empty()) {
      logits = all_logits.data() + first * c.vocab_size;
    } else {
      w.logits_chunk.resize(count * c.vocab_size);
      logits = w.logits_chunk.data();
    }
    row_stable_gemm(w.normed_final.data() + first * width, width, count, w.packed_head, logits, c.vocab_size);
    const auto chunk_rows = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel
    {
      std::vector<float> softmax_scratch(c.vocab_size);
#pragma omp for schedule(static)
      for (std::ptrdiff_t i = 0; i < chunk_rows; ++i) {
        const std::size_t row = first + static_cast<std::size_t>(i);
        const std::size_t s = w.sequence_of_row[row];
        if (row + 1 >= sequences.end(s)) continue;  // the last token predicts nothing in the batch
        const float* z = logits + static_cast<std::size_t>(i) * c.vocab_size;
        const auto statistics = log_softmax_row(z, c.vocab_size, softmax_scratch.data());
        w.log_sum_exp[row] = statistics.log_sum_exp;
        w.entropy[row + 1] = statistics.entropy;
        logprobs[row + 1] = z[w.tokens[row + 1]] - statistics.log_sum_exp;
      }
    }
  }
  if (!entropy.empty()) std::copy(w.entropy.begin(), w.entropy.end(), entropy.begin());
  w.has_forward = true;
}

// ---- backward ----------------------------------------------------------------------------

inline void transformer::backward(token_sequences_view sequences, std::span<const float> dlogp,
                                  std::span<const float> dentropy) {
  const auto& c = config_;
  auto& w = work_;
  const std::size_t rows = sequences.num_tokens();
  require_head(transformer_head::language_model, "backward");
  check_backward_sequences(sequences, "log_probs");
  if (dlogp.size() != rows || (!dentropy.empty() && dentropy.size() != rows))
    throw error(::rlft::detail::make_message("transformer: gradients have ", dlogp.size(), " and ", dentropy.size(),
                                             " entries for ", rows, " tokens"));
  if (rows == 0) return;
  allocate_gradients();

  // Gradient buffers live in the workspace: reused from step to step, not reallocated.
  w.residual_gradient.assign(rows * c.hidden_size, 0.0f);
  w.normed_gradient.assign(rows * c.hidden_size, 0.0f);
  lm_head_backward(sequences, dlogp, dentropy);
  backward_below_head(sequences);
}

inline void transformer::backward_below_head(token_sequences_view sequences) {
  auto& w = work_;
  const std::size_t rows = sequences.num_tokens();
  norm_backward(rows, w.residual_out.data(), w.inverse_rms_final.data(), final_norm_, w.normed_gradient.data(),
                w.residual_gradient.data());
  for (std::size_t l = config_.num_layers; l-- > 0;) layer_backward(l, sequences);
  embedding_backward(rows);
}

// ---- score head --------------------------------------------------------------------------

inline void transformer::values(token_sequences_view sequences, std::span<float> out) {
  require_head(transformer_head::score, "values");
  const std::size_t rows = sequences.num_tokens();
  if (out.size() != rows)
    throw error(::rlft::detail::make_message("transformer: value output has ", out.size(), " entries for ", rows,
                                             " tokens"));
  forward_hidden(sequences);
  const std::size_t width = config_.hidden_size;
  const float* score = parameter(score_head_);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* normed = work_.normed_final.data() + r * width;
    float value = 0.0f;
    for (std::size_t i = 0; i < width; ++i) value += score[i] * normed[i];
    out[r] = value;
  }
  work_.has_forward = true;
}

inline void transformer::backward_values(token_sequences_view sequences, std::span<const float> dvalues) {
  require_head(transformer_head::score, "backward_values");
  check_backward_sequences(sequences, "values");
  const std::size_t rows = sequences.num_tokens();
  if (dvalues.size() != rows)
    throw error(::rlft::detail::make_message("transformer: value gradients have ", dvalues.size(), " entries for ",
                                             rows, " tokens"));
  if (rows == 0) return;
  allocate_gradients();
  auto& w = work_;
  const std::size_t width = config_.hidden_size;
  const float* score = parameter(score_head_);
  float* dscore = gradient(score_head_);
  w.residual_gradient.assign(rows * width, 0.0f);
  w.normed_gradient.resize(rows * width);
  for (std::size_t r = 0; r < rows; ++r) {  // in row order: the head's gradient is one sum
    const float* normed = w.normed_final.data() + r * width;
    float* dnormed = w.normed_gradient.data() + r * width;
    for (std::size_t i = 0; i < width; ++i) {
      dnormed[i] = dvalues[r] * score[i];
      dscore[i] += dvalues[r] * normed[i];
    }
  }
  backward_below_head(sequences);
}

// The logits are recomputed chunk by chunk, as the forward computed them: it keeps none.
inline void transformer::lm_head_backward(token_sequences_view sequences, std::span<const float> dlogp,
                                          std::span<const float> dentropy) {
  const auto& c = config_;
  auto& w = work_;
  const std::size_t rows = sequences.num_tokens();
  const std::size_t width = c.hidden_size;
  const std::size_t vocab = c.vocab_size;
  const std::size_t chunk = std::max(transformer_defaults.min_logits_chunk_rows,
                                     transformer_defaults.logits_chunk_floats / vocab);
  w.packed_head_columns.pack_columns({parameter(lm_head_), vocab * width}, vocab, width);  // once for all chunks
  for (std::size_t first = 0; first < rows; first += chunk) {
    const std::size_t count = std::min(chunk, rows - first);
    w.logits_chunk.resize(count * vocab);
    float* dz = w.logits_chunk.data();
    row_stable_gemm(w.normed_final.data() + first * width, width, count, w.packed_head, dz, vocab);
    logits_gradient(sequences, dlogp, dentropy, first, count, dz);
    linear_backward(dz, count, vocab, w.normed_final.data() + first * width, width, lm_head_,
                    w.normed_gradient.data() + first * width, &w.packed_head_columns);
  }
}

// Overwrites the logits of rows [first, first + count) with their gradient
//   dz_j = dlogp·(1[j = y] − p_j) − dentropy·p_j·(log p_j + H).
inline void transformer::logits_gradient(token_sequences_view sequences, std::span<const float> dlogp,
                                         std::span<const float> dentropy, std::size_t first, std::size_t count,
                                         float* logits) const {
  const auto& w = work_;
  const std::size_t vocab = config_.vocab_size;
  const auto chunk_rows = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel
  {
    std::vector<float> probabilities(vocab);
#pragma omp for schedule(static)
    for (std::ptrdiff_t i = 0; i < chunk_rows; ++i) {
      const std::size_t row = first + static_cast<std::size_t>(i);
      float* z = logits + static_cast<std::size_t>(i) * vocab;
      if (row + 1 >= sequences.end(w.sequence_of_row[row])) {
        std::fill(z, z + vocab, 0.0f);
        continue;
      }
      const float upstream = dlogp[row + 1];
      const float upstream_entropy = dentropy.empty() ? 0.0f : dentropy[row + 1];
      const float lse = w.log_sum_exp[row];
      const float entropy = w.entropy[row + 1];
      for (std::size_t j = 0; j < vocab; ++j) {
        z[j] -= lse;  // log p_j
        probabilities[j] = z[j];
      }
      exp_in_place(probabilities.data(), vocab);
      for (std::size_t j = 0; j < vocab; ++j)
        z[j] = -upstream * probabilities[j] - upstream_entropy * probabilities[j] * (z[j] + entropy);
      z[w.tokens[row + 1]] += upstream;
    }
  }
}

inline void transformer::norm_backward(std::size_t rows, const float* input, const float* inverse_rms,
                                       std::size_t weight_offset, const float* dout, float* dinput) {
  const std::size_t width = config_.hidden_size;
  const auto all_rows = static_cast<std::ptrdiff_t>(rows);
  // Rows in parallel for dinput; the weight gradient is summed over rows in row order.
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t r = 0; r < all_rows; ++r) {
    const auto row = static_cast<std::size_t>(r);
    rms_norm_row_backward(input + row * width, parameter(weight_offset), width, inverse_rms[row], dout + row * width,
                          dinput + row * width, nullptr);
  }
  float* dweight = gradient(weight_offset);
  for (std::size_t row = 0; row < rows; ++row)
    for (std::size_t i = 0; i < width; ++i)
      dweight[i] += dout[row * width + i] * (input[row * width + i] * inverse_rms[row]);
}

inline void transformer::layer_backward(std::size_t l, token_sequences_view sequences) {
  mlp_block_backward(l, sequences.num_tokens());
  attention_block_backward(l, sequences);
}

// h_out = h_mid + down(act).
inline void transformer::mlp_block_backward(std::size_t l, std::size_t rows) {
  const auto& c = config_;
  auto& w = work_;
  const auto& o = layers_[l];
  const auto& a = w.layers[l];
  const std::size_t width = c.hidden_size;
  const std::size_t inner = c.intermediate_size;
  auto& dh = w.residual_gradient;
  auto& dnormed = w.normed_gradient;
  auto& dact = w.act_gradient;
  auto& dgate_up = w.gate_up_gradient;
  dact.resize(rows * inner);
  dgate_up.resize(rows * 2 * inner);
  linear_backward(dh.data(), rows, width, a.act.data(), inner, o.down_weight, dact.data());
  const auto all_rows = static_cast<std::ptrdiff_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t r = 0; r < all_rows; ++r) {
    const auto row = static_cast<std::size_t>(r);
    swiglu_row_backward(a.gate_up.data() + row * 2 * inner, inner, dact.data() + row * inner,
                        dgate_up.data() + row * 2 * inner);
  }
  linear_backward(dgate_up.data(), rows, 2 * inner, a.normed_mlp.data(), width, o.gate_up_weight, dnormed.data());
  norm_backward(rows, a.residual_mid.data(), a.inverse_rms_mlp.data(), o.post_norm, dnormed.data(), dh.data());
}

// h_mid = h_in + o_proj(attention).
inline void transformer::attention_block_backward(std::size_t l, token_sequences_view sequences) {
  const auto& c = config_;
  auto& w = work_;
  const auto& o = layers_[l];
  const auto& a = w.layers[l];
  const std::size_t rows = sequences.num_tokens();
  const std::size_t width = c.hidden_size;
  auto& dh = w.residual_gradient;
  auto& dnormed = w.normed_gradient;
  auto& dqkv = w.qkv_gradient;
  w.attention_gradient.resize(rows * c.query_width());
  dqkv.resize(rows * c.qkv_width());
  linear_backward(dh.data(), rows, width, a.attention_out.data(), c.query_width(), o.o_weight,
                  w.attention_gradient.data());
  attention_heads_backward(l, sequences);
  const auto all_rows = static_cast<std::ptrdiff_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t r = 0; r < all_rows; ++r) {
    const auto row = static_cast<std::size_t>(r);
    apply_rotary_backward(dqkv.data() + row * c.qkv_width(), c.num_heads + c.num_kv_heads, c.head_dim,
                          w.rotary.cos(w.positions[row]), w.rotary.sin(w.positions[row]));
  }
  if (c.attention_bias) {
    float* dbias = gradient(o.qkv_bias);
    for (std::size_t row = 0; row < rows; ++row)
      for (std::size_t j = 0; j < c.qkv_width(); ++j) dbias[j] += dqkv[row * c.qkv_width() + j];
  }
  linear_backward(dqkv.data(), rows, c.qkv_width(), a.normed_attention.data(), width, o.qkv_weight, dnormed.data());
  norm_backward(rows, a.residual_in.data(), a.inverse_rms_attention.data(), o.input_norm, dnormed.data(), dh.data());
}

// From dL/d(attention output) in work_.attention_gradient to dL/d(qkv) in work_.qkv_gradient,
// with q and k still rotated. Each (sequence, key/value head) owns its key and value
// gradients: no two threads write the same entry, and every entry is summed in a fixed order.
inline void transformer::attention_heads_backward(std::size_t l, token_sequences_view sequences) {
  const auto& c = config_;
  auto& w = work_;
  const auto& a = w.layers[l];
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::size_t group = c.num_heads / c.num_kv_heads;
  const auto& dattention = w.attention_gradient;
  auto& dqkv = w.qkv_gradient;
  std::fill(dqkv.begin(), dqkv.end(), 0.0f);
  const auto tasks = static_cast<std::ptrdiff_t>(sequences.size() * c.num_kv_heads);
#ifdef _OPENMP
  w.attention_scratch.resize(static_cast<std::size_t>(omp_get_max_threads()));
#else
  w.attention_scratch.resize(1);
#endif
#pragma omp parallel
  {
#ifdef _OPENMP
    auto& scratch = w.attention_scratch[static_cast<std::size_t>(omp_get_thread_num())];
#else
    auto& scratch = w.attention_scratch[0];
#endif
#pragma omp for schedule(dynamic, 1)
    for (std::ptrdiff_t task = 0; task < tasks; ++task) {
      const std::size_t s = static_cast<std::size_t>(task) / c.num_kv_heads;
      const std::size_t kv_head = static_cast<std::size_t>(task) % c.num_kv_heads;
      const std::size_t first = sequences.begin(s);
      const std::size_t kv_column = c.query_width() + kv_head * c.head_dim;
      for (std::size_t head = kv_head * group; head < (kv_head + 1) * group; ++head) {
        const std::size_t q_column = head * c.head_dim;
        attention_backward(
            {.length = sequences.length(s),
             .head_dim = c.head_dim,
             .scale = scale,
             .queries = a.qkv.data() + first * c.qkv_width() + q_column,
             .keys = a.qkv.data() + first * c.qkv_width() + kv_column,
             .values = a.qkv.data() + first * c.qkv_width() + kv_column + c.kv_width(),
             .qkv_stride = c.qkv_width(),
             .log_sum_exp = a.attention_lse.data() + first * c.num_heads + head,
             .lse_stride = c.num_heads,
             .out = a.attention_out.data() + first * c.query_width() + q_column,
             .dout = dattention.data() + first * c.query_width() + q_column,
             .out_stride = c.query_width(),
             .dqueries = dqkv.data() + first * c.qkv_width() + q_column,
             .dkeys = dqkv.data() + first * c.qkv_width() + kv_column,
             .dvalues = dqkv.data() + first * c.qkv_width() + kv_column + c.kv_width()},
            scratch);
      }
    }
  }
}

// Embedding rows, in token order (a token may repeat).
inline void transformer::embedding_backward(std::size_t rows) {
  const std::size_t width = config_.hidden_size;
  const auto& dh = work_.residual_gradient;
  float* dembedding = gradient(0);
  for (std::size_t row = 0; row < rows; ++row)
    add_scaled(dembedding + static_cast<std::size_t>(work_.tokens[row]) * width, dh.data() + row * width, 1.0f, width);
}

// ---- generation --------------------------------------------------------------------------

template <sampler Sampler>
rollout_batch transformer::generate(token_sequences_view prompts, std::size_t completions_per_prompt,
                                    const Sampler& sampler, const generation_options& options) {
  check_generation_request(prompts, completions_per_prompt, options);
  generation_state state = prefill(prompts, completions_per_prompt, options.max_new_tokens);
  const std::size_t completions = state.tokens.size();

  // Few completions: one decoder whose steps use every thread. Many: one decoder per thread on
  // its share of the completions, with no synchronisation per step (a barrier per kernel would
  // cost more than the small per-step kernels save, most of all on a loaded machine).
  std::vector<std::size_t> all(completions);
  for (std::size_t i = 0; i < completions; ++i) all[i] = i;
#ifdef _OPENMP
  const auto threads = static_cast<std::size_t>(omp_get_max_threads());
#else
  const std::size_t threads = 1;
#endif
  if (threads < 2 || completions < 2 * threads) {
    decode_completions(all, sampler, options, state);
  } else {
    // An exception must not leave the parallel region (that would terminate the program): each
    // thread's is kept, and the lowest thread's rethrown after the region.
    ::rlft::detail::first_loop_error failure(threads);
#pragma omp parallel num_threads(static_cast<int>(threads))
    {
#ifdef _OPENMP
      const auto thread = static_cast<std::size_t>(omp_get_thread_num());
      const auto team = static_cast<std::size_t>(omp_get_num_threads());
#else
      const std::size_t thread = 0, team = 1;
#endif
      std::vector<std::size_t> share;
      for (std::size_t i = thread; i < completions; i += team) share.push_back(i);
      try {
        decode_completions(share, sampler, options, state);
      } catch (...) {
        failure.record(thread);
      }
    }
    failure.rethrow_if_any();
  }
  return to_rollout_batch(prompts, state);
}

inline void transformer::check_generation_request(token_sequences_view prompts, std::size_t completions_per_prompt,
                                                  const generation_options& options) const {
  require_head(transformer_head::language_model, "generate");
  if (prompts.empty()) throw error("transformer: generate needs at least one prompt");
  if (completions_per_prompt == 0) throw error("transformer: generate needs at least one completion per prompt");
  if (options.max_new_tokens == 0) throw error("transformer: max_new_tokens must be at least 1");
  for (std::size_t p = 0; p < prompts.size(); ++p)
    if (prompts.length(p) == 0) throw error(::rlft::detail::make_message("transformer: prompt ", p, " is empty"));
  check_tokens(prompts);
  for (const token_id stop : options.stop_tokens)
    if (stop < 0 || static_cast<std::size_t>(stop) >= config_.vocab_size)
      throw error(::rlft::detail::make_message("transformer: stop token ", stop, " is outside the vocabulary"));
}

// The training forward over the prompts up to the final norm runs once per prompt, not per
// completion; the logits of each prompt's last row are the first step's.
inline transformer::generation_state transformer::prefill(token_sequences_view prompts,
                                                          std::size_t completions_per_prompt,
                                                          std::size_t max_new_tokens) {
  const auto& c = config_;
  auto& w = work_;
  generation_state state;
  state.completions_per_prompt = completions_per_prompt;
  forward_hidden(prompts);
  std::vector<float> last_rows(prompts.size() * c.hidden_size);
  state.prompt_logits.resize(prompts.size() * c.vocab_size);
  for (std::size_t p = 0; p < prompts.size(); ++p)
    std::copy_n(w.normed_final.data() + (prompts.end(p) - 1) * c.hidden_size, c.hidden_size,
                last_rows.data() + p * c.hidden_size);
  row_stable_gemm(last_rows.data(), c.hidden_size, prompts.size(), w.packed_head, state.prompt_logits.data(),
                  c.vocab_size);
  cache_prompts(prompts, max_new_tokens, state);

  const std::size_t completions = prompts.size() * completions_per_prompt;
  state.tokens.resize(completions);
  state.drawn_logprobs.resize(completions);
  state.truncated.assign(completions, 0);
  for (std::size_t i = 0; i < completions; ++i) {
    const auto prompt = prompts[i / completions_per_prompt];
    state.tokens[i].assign(prompt.begin(), prompt.end());
  }
  std::size_t longest_prompt = 0;
  for (std::size_t p = 0; p < prompts.size(); ++p) longest_prompt = std::max(longest_prompt, prompts.length(p));
  w.rotary.reserve(longest_prompt + max_new_tokens);  // read-only from here on
  return state;
}

// Each completion's cache has room for max_new_tokens after its prompt, whose keys and values
// are copied from the prefill's forward.
inline void transformer::cache_prompts(token_sequences_view prompts, std::size_t max_new_tokens,
                                       generation_state& state) const {
  const auto& c = config_;
  const std::size_t completions = prompts.size() * state.completions_per_prompt;
  state.cache_row = 2 * c.kv_width();
  state.cache_begin.assign(completions + 1, 0);
  for (std::size_t i = 0; i < completions; ++i)
    state.cache_begin[i + 1] =
        state.cache_begin[i] + prompts.length(i / state.completions_per_prompt) + max_new_tokens;
  state.cache.resize(c.num_layers);
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    state.cache[l].resize(state.cache_begin[completions] * state.cache_row);
    for (std::size_t i = 0; i < completions; ++i) {
      const std::size_t p = i / state.completions_per_prompt;
      for (std::size_t t = 0; t < prompts.length(p); ++t)
        std::copy_n(work_.layers[l].qkv.data() + (prompts.begin(p) + t) * c.qkv_width() + c.query_width(),
                    state.cache_row, state.cache[l].data() + (state.cache_begin[i] + t) * state.cache_row);
    }
  }
}

// Decodes the completions in `subset` to the end, one token per completion and step. Rows
// are independent (row-stable kernels, per-completion random streams), so the completions
// may be split among threads in any way without changing a bit of the result.
template <sampler Sampler>
void transformer::decode_completions(std::span<const std::size_t> subset, const Sampler& sampler,
                                     const generation_options& options, generation_state& state) {
  const auto& c = config_;
  const Sampler local_sampler = sampler;  // samplers are values: each thread draws with its own copy
  std::vector<std::size_t> active(subset.begin(), subset.end());
  decoder_buffers buffers;
  buffers.logits.resize(active.size() * c.vocab_size);
  buffers.softmax_scratch.resize(c.vocab_size);
  // A completion's first logits are its prompt's.
  for (std::size_t r = 0; r < active.size(); ++r)
    std::copy_n(state.prompt_logits.data() + active[r] / state.completions_per_prompt * c.vocab_size, c.vocab_size,
                buffers.logits.data() + r * c.vocab_size);
  for (std::uint32_t step = 0;; ++step) {
    active = sample_step(active, step, local_sampler, options, buffers, state);
    if (active.empty()) return;
    decode_step(active, buffers, state);
  }
}

// Returns the completions that go on: those that drew no stop token and have room for more.
template <sampler Sampler>
std::vector<std::size_t> transformer::sample_step(std::span<const std::size_t> active, std::uint32_t step,
                                                  const Sampler& sampler, const generation_options& options,
                                                  decoder_buffers& buffers, generation_state& state) const {
  const auto& c = config_;
  std::vector<std::size_t> still_active;
  for (std::size_t r = 0; r < active.size(); ++r) {
    const std::size_t i = active[r];
    const float* row = buffers.logits.data() + r * c.vocab_size;
    philox_stream rng(options.seed, options.first_stream + i, step);
    const sampled_token drawn = sampler(std::span<const float>(row, c.vocab_size), state.tokens[i], rng);
    RLFT_ASSERT(drawn.token >= 0 && static_cast<std::size_t>(drawn.token) < c.vocab_size);
    state.tokens[i].push_back(drawn.token);
    state.drawn_logprobs[i].push_back(row[drawn.token] -
                                      log_softmax_row(row, c.vocab_size, buffers.softmax_scratch.data()).log_sum_exp);
    if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), drawn.token) != options.stop_tokens.end())
      continue;
    if (state.drawn_logprobs[i].size() == options.max_new_tokens) {
      state.truncated[i] = 1;
      continue;
    }
    still_active.push_back(i);
  }
  return still_active;
}

// One token per active completion through the same layer code as the training forward; its
// keys and values join the completion's cache.
inline void transformer::decode_step(std::span<const std::size_t> active, decoder_buffers& buffers,
                                     generation_state& state) {
  const auto& c = config_;
  const std::size_t width = c.hidden_size;
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::size_t group = c.num_heads / c.num_kv_heads;
  const std::size_t cache_row = state.cache_row;
  auto& b = buffers;
  const std::size_t rows = active.size();
  b.h.resize(rows * width);
  b.scratch.resize(rows * width);
  b.positions.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t i = active[r];
    b.positions[r] = state.tokens[i].size() - 1;
    std::copy_n(parameter(0) + static_cast<std::size_t>(state.tokens[i].back()) * width, width, b.h.data() + r * width);
  }
  for (std::size_t l = 0; l < c.num_layers; ++l) {
    layer_forward(l, rows, b.positions.data(), b.h.data(), b.activations, b.scratch.data(),
                  [&](const float* qkv, float* out, float* lse) {
                    for (std::size_t r = 0; r < rows; ++r) {
                      float* cache_base = state.cache[l].data() + state.cache_begin[active[r]] * cache_row;
                      std::copy_n(qkv + r * c.qkv_width() + c.query_width(), cache_row,
                                  cache_base + b.positions[r] * cache_row);
                      const std::size_t count = b.positions[r] + 1;
                      b.scores.resize(std::max(b.scores.size(), count));
                      for (std::size_t head = 0; head < c.num_heads; ++head) {
                        const float* keys = cache_base + (head / group) * c.head_dim;
                        lse[r * c.num_heads + head] =
                            attention_row(qkv + r * c.qkv_width() + head * c.head_dim, keys, keys + c.kv_width(),
                                          cache_row, count, c.head_dim, scale, b.scores.data(),
                                          out + r * c.query_width() + head * c.head_dim);
                      }
                    }
                  });
  }
  b.normed.resize(rows * width);
  b.inverse_rms.resize(rows);
  rms_norm_rows(b.h.data(), rows, width, parameter(final_norm_), c.rms_norm_eps, b.normed.data(), b.inverse_rms.data());
  row_stable_gemm(b.normed.data(), width, rows, work_.packed_head, b.logits.data(), c.vocab_size);
}

inline rollout_batch transformer::to_rollout_batch(token_sequences_view prompts, const generation_state& state) {
  const std::size_t completions = state.tokens.size();
  token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  for (std::size_t i = 0; i < completions; ++i) {
    sequences.push_back(state.tokens[i]);
    prompt_lengths.push_back(static_cast<std::int64_t>(prompts.length(i / state.completions_per_prompt)));
  }
  auto result =
      rollout_batch::with_group_size(std::move(sequences), std::move(prompt_lengths), state.completions_per_prompt);
  for (std::size_t i = 0; i < completions; ++i) {
    const std::size_t first = result.sequence_begin(i) + result.prompt_length(i);
    std::copy(state.drawn_logprobs[i].begin(), state.drawn_logprobs[i].end(),
              result.sampling_logprobs().begin() + first);
    result.truncated()[i] = state.truncated[i];
  }
  return result;
}

static_assert(entropy_policy<transformer>);
static_assert(value_model<transformer>);

}  // namespace rlft::examples
