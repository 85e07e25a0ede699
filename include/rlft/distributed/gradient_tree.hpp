// A mini-batch's gradient as a fixed binary tree of per-shard sums, so that its bits do not
// depend on how many processes computed it. The mini-batch's sequences are cut into S shards
// (S a power of two); each shard's gradient is accumulated alone, and the shard gradients are
// added pairwise over shard indices: ((g0 + g1) + (g2 + g3)) + ... Each rank adds the shards it
// owns as far as the tree allows (whole subtrees), then the ranks exchange those partial sums
// and every rank finishes the same tree. One process with S shards and N processes with the
// same S give the same gradient bit for bit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/distributed/communicator.hpp"

namespace rlft {

namespace detail {
constexpr bool is_power_of_two(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }
}  // namespace detail

class gradient_tree {
 public:
  // Throws rlft::error unless `shards` is a power of two.
  explicit gradient_tree(std::size_t shards) : shards_(shards) {
    if (!detail::is_power_of_two(shards_))
      throw error(detail::make_message("gradient tree: the number of shards must be a power of two, not ", shards_));
  }

  // The gradient of shard `shard`; shards come in increasing order, without gaps.
  void add(std::size_t shard, std::vector<float> gradient) {
    if (shard >= shards_ || (!nodes_.empty() && nodes_.back().begin + nodes_.back().size != shard))
      throw error(detail::make_message("gradient tree: shard ", shard, " out of order or out of range"));
    push(nodes_, {shard, 1, std::move(gradient)});
  }

  // The whole tree's sum on every rank; the ranks' shards, in rank order, must cover all
  // shards. One process: its own tree.
  template <communicator Communicator>
  std::vector<float> total(Communicator& comm) {
    std::vector<node> all;
    if (comm.size() == 1) {
      all = std::move(nodes_);
    } else {
      for (const auto& blob : comm.all_gather(serialize(nodes_)))
        for (auto& n : deserialize(blob)) push(all, std::move(n));
    }
    nodes_.clear();
    if (all.size() != 1 || all.front().begin != 0 || all.front().size != shards_)
      throw error("gradient tree: the ranks' shards do not cover the mini-batch once");
    return std::move(all.front().sum);
  }

 private:
  struct node {
    std::size_t begin = 0, size = 0;  // shards [begin, begin + size)
    std::vector<float> sum;
  };

  // Appends a node and adds up siblings: a left child whose right sibling has arrived.
  static void push(std::vector<node>& stack, node next) {
    stack.push_back(std::move(next));
    while (stack.size() >= 2) {
      node& left = stack[stack.size() - 2];
      const node& right = stack.back();
      if (left.size != right.size || left.begin % (2 * left.size) != 0 || left.begin + left.size != right.begin) break;
      if (left.sum.size() != right.sum.size()) throw error("gradient tree: two shards' gradients differ in size");
      for (std::size_t i = 0; i < left.sum.size(); ++i) left.sum[i] = left.sum[i] + right.sum[i];
      left.size *= 2;
      stack.pop_back();
    }
  }

  static std::vector<std::byte> serialize(const std::vector<node>& nodes) {
    std::vector<std::byte> out;
    const auto append = [&](const void* data, std::size_t bytes) {
      const auto* p = static_cast<const std::byte*>(data);
      out.insert(out.end(), p, p + bytes);
    };
    for (const node& n : nodes) {
      const std::uint64_t header[3] = {n.begin, n.size, n.sum.size()};
      append(header, sizeof header);
      append(n.sum.data(), n.sum.size() * sizeof(float));
    }
    return out;
  }

  static std::vector<node> deserialize(std::span<const std::byte> in) {
    std::vector<node> nodes;
    std::size_t at = 0;
    while (at < in.size()) {
      std::uint64_t header[3];
      if (in.size() - at < sizeof header) throw error("gradient tree: a rank's partial sums arrived malformed");
      std::memcpy(header, in.data() + at, sizeof header);
      at += sizeof header;
      if ((in.size() - at) / sizeof(float) < header[2]) throw error("gradient tree: a rank's partial sums arrived malformed");
      node n{static_cast<std::size_t>(header[0]), static_cast<std::size_t>(header[1]),
             std::vector<float>(static_cast<std::size_t>(header[2]))};
      std::memcpy(n.sum.data(), in.data() + at, n.sum.size() * sizeof(float));
      at += n.sum.size() * sizeof(float);
      nodes.push_back(std::move(n));
    }
    return nodes;
  }

  std::size_t shards_;
  std::vector<node> nodes_;
};

// A policy's accumulated gradient as one buffer, its gradients cleared: a shard's leaf.
template <trainable Policy>
std::vector<float> take_gradients(Policy& policy) {
  std::vector<float> flat;
  for (const parameter_ref p : policy.parameters()) flat.insert(flat.end(), p.gradients.begin(), p.gradients.end());
  policy.zero_grad();
  return flat;
}

// The tree's total back into the policy's gradients.
template <trainable Policy>
void set_gradients(Policy& policy, std::span<const float> flat) {
  std::size_t at = 0;
  for (const parameter_ref p : policy.parameters()) {
    if (flat.size() - at < p.gradients.size()) throw error("gradient tree: the total is smaller than the policy's gradients");
    std::copy_n(flat.begin() + static_cast<std::ptrdiff_t>(at), p.gradients.size(), p.gradients.begin());
    at += p.gradients.size();
  }
}

}  // namespace rlft
