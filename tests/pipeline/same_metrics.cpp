// same_metrics A B: exits 0 when two metrics.jsonl files hold the same records, timings aside
// (fields named seconds* or *per_second), and prints the first difference otherwise. The
// resume test uses it to show that an interrupted and resumed run equals an uninterrupted one.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rlft/io/jsonl.hpp>

namespace {

void drop_timings(nlohmann::json& value) {
  if (!value.is_object()) return;
  for (auto it = value.begin(); it != value.end();) {
    const std::string& key = it.key();
    if (key.starts_with("seconds") || key.ends_with("per_second")) {
      it = value.erase(it);
    } else {
      drop_timings(*it);
      ++it;
    }
  }
}

std::vector<nlohmann::json> records(const char* path) {
  std::vector<nlohmann::json> all;
  rlft::io::read_jsonl(path, [&](nlohmann::json record, std::size_t) {
    drop_timings(record);
    all.push_back(std::move(record));
  });
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: same_metrics A.jsonl B.jsonl\n");
    return 2;
  }
  try {
    const auto a = records(argv[1]), b = records(argv[2]);
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i] != b[i]) {
        std::printf("record %zu differs:\n  %s\n  %s\n", i + 1, a[i].dump().c_str(), b[i].dump().c_str());
        return 1;
      }
    }
    if (a.size() != b.size()) {
      std::printf("%zu records against %zu\n", a.size(), b.size());
      return 1;
    }
    std::printf("%zu records, the same up to timings\n", a.size());
    return 0;
  } catch (const rlft::error& e) {
    std::fprintf(stderr, "same_metrics: %s\n", e.what());
    return 2;
  }
}
