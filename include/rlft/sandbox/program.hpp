// A program in a language, prepared once (written to a fresh work directory and, for a
// compiled language, compiled in the sandbox) and then run as often as there are test cases,
// each run in the sandbox of rlft/sandbox/run_sandboxed.hpp. Python 3 and C++ (g++) come
// built in; another language is its source file name and its compile and run command lines
// (paths inside the sandbox, where /usr is the host's).
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/sandbox/run_sandboxed.hpp"
#include "rlft/sandbox/test_harness.hpp"

namespace rlft::sandbox {

struct language {
  std::string name;
  std::string source_file;           // in the work directory
  std::vector<std::string> compile;  // empty: interpreted
  std::vector<std::string> run;
  bool python_source = false;  // run_all may execute it in forked Python interpreters
};

// Python 3 in isolated mode (-I: no environment variables, no user site directory).
inline language python3() { return {"python", "main.py", {}, {"/usr/bin/python3", "-I", "main.py"}, true}; }

// C++17 compiled by g++ -O2.
inline language cpp() {
  return {"cpp", "main.cpp", {"/usr/bin/g++", "-std=c++17", "-O2", "-o", "main", "main.cpp"}, {"./main"}};
}

// What compiling may take: more than a test case, and g++ needs its address space.
inline run_limits default_compile_limits() {
  return {.cpu_seconds = 20, .wall_seconds = 30, .memory_bytes = std::size_t{2} << 30};
}

class prepared_program {
 public:
  // Writes `source` to a new directory under the system's temporary directory and compiles it
  // when the language is compiled. Throws rlft::error when the directory or the file cannot be
  // made (the compiler's own failure is compile_result(), not an exception).
  prepared_program(const language& lang, std::string_view source, const run_limits& compile_limits = default_compile_limits(),
                   const run_options& options = {})
      : language_(lang), options_(options), work_(make_work_directory()) {
    std::ofstream file(work_ / language_.source_file, std::ios::binary);
    file.write(source.data(), static_cast<std::streamsize>(source.size()));
    if (!file) throw error(rlft::detail::make_message("rlft sandbox: cannot write ", (work_ / language_.source_file).string()));
    file.close();
    if (!language_.compile.empty()) compile_result_ = run_sandboxed(language_.compile, work_, "", compile_limits, options_);
  }
  prepared_program(const prepared_program&) = delete;
  prepared_program& operator=(const prepared_program&) = delete;
  ~prepared_program() {
    std::error_code ignored;
    std::filesystem::remove_all(work_, ignored);
  }

  // False when compiling did not complete: every run would be a compile error.
  bool compiled() const noexcept { return !compile_result_ || compile_result_->verdict == run_verdict::completed; }
  const std::optional<run_result>& compile_result() const noexcept { return compile_result_; }

  // One run with `stdin_text`; files a previous run left in the work directory are still there.
  run_result run(std::string_view stdin_text, const run_limits& limits = {}) const {
    if (!compiled()) throw error("rlft sandbox: the program did not compile; see compile_result()");
    return run_sandboxed(language_.run, work_, stdin_text, limits, options_);
  }

  // One run per input, `limits` per case. A single input runs on its own; several inputs of a
  // Python source, or eight or more of any program, share one sandbox
  // (rlft/sandbox/test_harness.hpp, whose Python harness costs about 22 ms to start and then
  // 1.7 ms per compiled case); fewer inputs of a compiled program get a sandbox each (about 5 ms
  // per case; bench/RESULTS.md).
  std::vector<run_result> run_all(const std::vector<std::string>& inputs, const run_limits& limits = {}) const {
    if (!compiled()) throw error("rlft sandbox: the program did not compile; see compile_result()");
    if (inputs.size() == 1) return {run(inputs.front(), limits)};
    if (language_.python_source || inputs.size() >= 8)
      return run_test_cases(language_.run, language_.python_source ? language_.source_file : std::string_view{},
                            work_, inputs, limits, options_);
    std::vector<run_result> results;
    for (const auto& input : inputs) results.push_back(run(input, limits));
    return results;
  }

 private:
  language language_;
  run_options options_;
  std::filesystem::path work_;
  std::optional<run_result> compile_result_;
};

}  // namespace rlft::sandbox
