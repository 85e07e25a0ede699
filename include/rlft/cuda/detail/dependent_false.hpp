// A false that depends on template parameters: the condition of the static_assert in an
// unmatched CUDA specialisation, which fires only when that specialisation is instantiated.
#pragma once

namespace rlft::cuda::detail {

template <class...>
inline constexpr bool dependent_false = false;

}  // namespace rlft::cuda::detail
