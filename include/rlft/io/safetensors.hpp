// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
// JSON mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the byte after the header, plus an optional "__metadata__" string map), then the
// raw little-endian tensor bytes. rlft reads and writes it itself so that a checkpoint is
// validated before a byte of it is trusted: every malformed, truncated or oversized file is
// rejected with rlft::io_error naming the file and the problem, never with a crash or a read
// outside the file. Tensors are converted to float on the way in (F32, F16, BF16, F64) and
// written as F32, F16 or BF16. The file is mapped (rlft/io/mapped_file.hpp): each tensor is
// converted once, from the mapped bytes into the caller's floats, and its pages then released.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"
#include "rlft/io/atomic_file.hpp"
#include "rlft/io/half_precision.hpp"
#include "rlft/io/mapped_file.hpp"

namespace rlft::io {

static_assert(std::endian::native == std::endian::little,
              "rlft's safetensors reader assumes a little-endian host, as the format does");

enum class tensor_dtype { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

struct safetensors_limits {
  // The reference implementation refuses headers above 100 MB; so does rlft.
  std::uint64_t max_header_bytes = 100'000'000;
  // A header nests at most {name: {"shape": [..]}}: anything deeper is not a safetensors header.
  int max_json_depth = 4;
};

inline constexpr safetensors_limits default_safetensors_limits{};

namespace safetensors_detail {

struct dtype_name {
  std::string_view name;
  tensor_dtype dtype;
  std::size_t bytes;
};

inline constexpr dtype_name dtype_names[] = {
    {"F64", tensor_dtype::f64, 8}, {"F32", tensor_dtype::f32, 4},  {"F16", tensor_dtype::f16, 2},
    {"BF16", tensor_dtype::bf16, 2}, {"I64", tensor_dtype::i64, 8}, {"I32", tensor_dtype::i32, 4},
    {"I16", tensor_dtype::i16, 2}, {"I8", tensor_dtype::i8, 1},    {"U8", tensor_dtype::u8, 1},
    {"BOOL", tensor_dtype::boolean, 1}};

inline const dtype_name* find_dtype(std::string_view name) {
  for (const auto& entry : dtype_names)
    if (entry.name == name) return &entry;
  return nullptr;
}

inline const dtype_name& describe(tensor_dtype dtype) {
  for (const auto& entry : dtype_names)
    if (entry.dtype == dtype) return entry;
  return dtype_names[0];
}

// Deepest bracket nesting of a JSON text outside strings; stops counting once past `limit`,
// so a hostile header of a million '[' is refused before the parser sees it.
inline int json_depth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace safetensors_detail

inline std::string_view dtype_name(tensor_dtype dtype) { return safetensors_detail::describe(dtype).name; }
inline std::size_t dtype_size(tensor_dtype dtype) { return safetensors_detail::describe(dtype).bytes; }

struct tensor_entry {
  std::string name = {};
  tensor_dtype dtype = tensor_dtype::f32;
  std::vector<std::int64_t> shape = {};
  std::uint64_t data_begin = 0;  // relative to the first byte after the header
  std::uint64_t data_end = 0;

  std::uint64_t num_elements() const {
    std::uint64_t count = 1;
    for (const auto extent : shape) count *= static_cast<std::uint64_t>(extent);
    return count;
  }
};

// One .safetensors file, opened and validated; tensor bytes are read on request.
class safetensors_file {
 public:
  // Throws rlft::io_error naming the file and the problem unless the file is well-formed:
  // readable, header length within the file and the limits, the header a JSON object of
  // tensor entries with a known dtype, non-negative shape, offsets within the data section
  // that match shape × dtype size, and no two tensors overlapping.
  explicit safetensors_file(std::filesystem::path path, safetensors_limits limits = default_safetensors_limits)
      : path_(std::move(path)) {
    std::ifstream file(path_, std::ios::binary);
    if (!file) fail("cannot be opened");
    std::error_code size_error;
    const std::uint64_t file_size = std::filesystem::file_size(path_, size_error);
    if (size_error) fail("has no readable size");
    if (file_size < 8) fail(detail::make_message("is truncated: ", file_size, " bytes, fewer than the 8-byte header length"));

    unsigned char length_bytes[8];
    file.read(reinterpret_cast<char*>(length_bytes), 8);
    if (!file) fail("is truncated: cannot read the 8-byte header length");
    std::uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length_bytes[i];
    if (header_bytes > limits.max_header_bytes)
      fail(detail::make_message("declares a header of ", header_bytes, " bytes, above the limit of ",
                                limits.max_header_bytes));
    if (header_bytes > file_size - 8)
      fail(detail::make_message("is truncated: the header needs ", header_bytes, " bytes but only ",
                                file_size - 8, " follow the length"));
    std::string header(header_bytes, '\0');
    file.read(header.data(), static_cast<std::streamsize>(header_bytes));
    if (!file) fail("is truncated inside the header");
    data_offset_ = 8 + header_bytes;
    data_bytes_ = file_size - data_offset_;
    parse_header(header, limits);
    mapping_ = mapped_file::map(path_, file_size);
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  std::span<const tensor_entry> tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  const tensor_entry* find(std::string_view name) const {
    const auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                                     [](const tensor_entry& entry, std::string_view key) { return entry.name < key; });
    return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
  }

  const tensor_entry& at(std::string_view name) const {
    const tensor_entry* entry = find(name);
    if (entry == nullptr) fail(detail::make_message("has no tensor named '", name, "'"));
    return *entry;
  }

  // Reads tensor `name` converted to float into `out`, which must hold exactly its elements.
  void read(std::string_view name, std::span<float> out) const {
    const tensor_entry& entry = at(name);
    if (entry.num_elements() != out.size())
      fail(detail::make_message("tensor '", name, "' has ", entry.num_elements(), " elements, expected ", out.size()));
    const std::uint64_t begin = data_offset_ + entry.data_begin;
    const std::uint64_t bytes = entry.data_end - entry.data_begin;
    if (mapping_) {
      if (!mapping_->intact()) fail(detail::make_message("was truncated while reading tensor '", name, "'"));
      convert_to_float(entry, mapping_->bytes().subspan(begin, bytes), out);
      mapping_->release(begin, begin + bytes);
      return;
    }
    std::vector<unsigned char> buffer(bytes);
    std::ifstream file(path_, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(begin));
    file.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(bytes));
    if (!file) fail(detail::make_message("changed or became unreadable while reading tensor '", name, "'"));
    convert_to_float(entry, buffer, out);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw io_error(detail::make_message("safetensors file ", path_.string(), " ", problem));
  }

  static std::optional<std::uint64_t> as_unsigned(const nlohmann::json& value) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    return std::nullopt;
  }

  void parse_header(const std::string& header, const safetensors_limits& limits) {
    if (safetensors_detail::json_depth(header, limits.max_json_depth) > limits.max_json_depth)
      fail(detail::make_message("has a header nested deeper than ", limits.max_json_depth, " levels"));
    const nlohmann::json root = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) fail("has a header that is not valid JSON");
    if (!root.is_object()) fail("has a header that is not a JSON object");

    for (const auto& [name, value] : root.items()) {
      if (name == "__metadata__") {
        if (!value.is_object()) fail("has __metadata__ that is not an object");
        for (const auto& [key, text] : value.items()) {
          if (!text.is_string()) fail(detail::make_message("has __metadata__ entry '", key, "' that is not a string"));
          metadata_[key] = text.get<std::string>();
        }
        continue;
      }
      tensors_.push_back(parse_entry(name, value));
    }
    std::sort(tensors_.begin(), tensors_.end(),
              [](const tensor_entry& a, const tensor_entry& b) { return a.name < b.name; });

    std::vector<const tensor_entry*> by_offset;
    for (const auto& entry : tensors_) by_offset.push_back(&entry);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const tensor_entry* a, const tensor_entry* b) { return a->data_begin < b->data_begin; });
    for (std::size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i]->data_begin < by_offset[i - 1]->data_end)
        fail(detail::make_message("has tensors '", by_offset[i - 1]->name, "' and '", by_offset[i]->name,
                                  "' whose data overlap"));
  }

  tensor_entry parse_entry(const std::string& name, const nlohmann::json& value) const {
    if (!value.is_object()) fail(detail::make_message("has tensor '", name, "' whose entry is not an object"));
    tensor_entry entry{.name = name};

    const auto dtype = value.find("dtype");
    if (dtype == value.end() || !dtype->is_string())
      fail(detail::make_message("has tensor '", name, "' without a dtype string"));
    const safetensors_detail::dtype_name* known = safetensors_detail::find_dtype(dtype->get_ref<const std::string&>());
    if (known == nullptr)
      fail(detail::make_message("has tensor '", name, "' with unknown dtype '", dtype->get<std::string>(), "'"));
    entry.dtype = known->dtype;

    const auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array())
      fail(detail::make_message("has tensor '", name, "' without a shape array"));
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const auto& extent : *shape) {
      const auto size = as_unsigned(extent);
      if (!size || *size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(detail::make_message("has tensor '", name, "' with a shape entry that is not a non-negative integer"));
      entry.shape.push_back(static_cast<std::int64_t>(*size));
      if (*size != 0 && elements > std::numeric_limits<std::uint64_t>::max() / *size) overflow = true;
      elements *= *size;
    }

    const auto offsets = value.find("data_offsets");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2)
      fail(detail::make_message("has tensor '", name, "' without data_offsets [begin, end]"));
    const auto begin = as_unsigned((*offsets)[0]);
    const auto end = as_unsigned((*offsets)[1]);
    if (!begin || !end) fail(detail::make_message("has tensor '", name, "' with non-integer data_offsets"));
    if (*begin > *end)
      fail(detail::make_message("has tensor '", name, "' whose data_offsets begin (", *begin, ") after they end (", *end, ")"));
    if (*end > data_bytes_)
      fail(detail::make_message("is truncated or corrupt: tensor '", name, "' ends at byte ", *end,
                                " of a data section of ", data_bytes_, " bytes"));
    if (overflow || elements > std::numeric_limits<std::uint64_t>::max() / known->bytes ||
        elements * known->bytes != *end - *begin)
      fail(detail::make_message("has tensor '", name, "' whose ", *end - *begin, " data bytes do not match its shape × ",
                                known->name, " size"));
    entry.data_begin = *begin;
    entry.data_end = *end;
    return entry;
  }

  void convert_to_float(const tensor_entry& entry, std::span<const unsigned char> bytes, std::span<float> out) const {
    const auto load = [&]<class Word>(std::size_t i) {
      Word word;
      std::memcpy(&word, bytes.data() + i * sizeof(Word), sizeof(Word));
      return word;
    };
    switch (entry.dtype) {
      case tensor_dtype::f32:
        if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size_bytes());
        return;
      case tensor_dtype::f64:
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(load.template operator()<double>(i));
        return;
      case tensor_dtype::bf16:
      case tensor_dtype::f16: {
        // Each element on its own: threads change nothing but the time (a 0.5B model's BF16
        // embedding is 136M values).
        const bool brain = entry.dtype == tensor_dtype::bf16;
        const auto count = static_cast<std::ptrdiff_t>(out.size());
        RLFT_OMP(parallel for schedule(static) if (count > (1 << 18)))
        for (std::ptrdiff_t i = 0; i < count; ++i) {
          const auto bits = load.template operator()<std::uint16_t>(static_cast<std::size_t>(i));
          out[static_cast<std::size_t>(i)] = brain ? bfloat16_to_float(bits) : float16_to_float(bits);
        }
        return;
      }
      default:
        fail(detail::make_message("has tensor '", entry.name, "' of dtype ", dtype_name(entry.dtype),
                                  ", which rlft does not read as floating point"));
    }
  }

  std::filesystem::path path_;
  std::uint64_t data_offset_ = 0;
  std::uint64_t data_bytes_ = 0;
  std::shared_ptr<const mapped_file> mapping_;  // empty without mmap: tensors are read instead
  std::vector<tensor_entry> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct tensor_to_save {
  std::string name = {};
  std::vector<std::int64_t> shape = {};
  std::span<const float> values = {};
};

// Writes the tensors (converted to `dtype`: F32, F16 or BF16) and the metadata to `path`
// atomically. Throws rlft::error for a tensor whose values do not match its shape or a name
// used twice, rlft::io_error when the file cannot be written (the previous file is kept).
inline void save_safetensors(const std::filesystem::path& path, std::span<const tensor_to_save> tensors,
                             tensor_dtype dtype = tensor_dtype::f32,
                             const std::map<std::string, std::string>& metadata = {}) {
  if (dtype != tensor_dtype::f32 && dtype != tensor_dtype::f16 && dtype != tensor_dtype::bf16)
    throw error(detail::make_message("save_safetensors: cannot write dtype ", dtype_name(dtype),
                                     " (F32, F16 or BF16 only)"));
  const std::size_t element_bytes = dtype_size(dtype);
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    std::uint64_t elements = 1;
    for (const auto extent : tensor.shape) {
      if (extent < 0) throw error(detail::make_message("save_safetensors: tensor '", tensor.name, "' has a negative extent"));
      elements *= static_cast<std::uint64_t>(extent);
    }
    if (elements != tensor.values.size())
      throw error(detail::make_message("save_safetensors: tensor '", tensor.name, "' has ", tensor.values.size(),
                                       " values for a shape of ", elements, " elements"));
    if (tensor.name == "__metadata__" || header.contains(tensor.name))
      throw error(detail::make_message("save_safetensors: tensor name '", tensor.name, "' is used twice or reserved"));
    const std::uint64_t bytes = elements * element_bytes;
    header[tensor.name] = {{"dtype", dtype_name(dtype)}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  // The format pads the header with spaces so that the data starts 8-byte aligned.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::vector<char> data(offset);
  std::size_t position = 0;
  for (const auto& tensor : tensors) {
    for (const float value : tensor.values) {
      if (dtype == tensor_dtype::f32) {
        std::memcpy(data.data() + position, &value, 4);
      } else {
        const std::uint16_t bits = dtype == tensor_dtype::bf16 ? float_to_bfloat16(value) : float_to_float16(value);
        std::memcpy(data.data() + position, &bits, 2);
      }
      position += element_bytes;
    }
  }
  char length[8];
  std::uint64_t header_bytes = header_text.size();
  for (char& byte : length) {
    byte = static_cast<char>(header_bytes & 0xffu);
    header_bytes >>= 8;
  }
  const std::span<const char> chunks[] = {{length, 8}, {header_text.data(), header_text.size()}, {data.data(), data.size()}};
  write_file_atomically(path, chunks);
}

}  // namespace rlft::io
