// Sandbox overhead: a tiny Python program and a tiny compiled C++ program run under
// rlft::sandbox::run_sandboxed, beside a bare posix_spawn + waitpid of the same program in the
// same binary and run (the peer: what a reward without isolation pays), and four test cases in
// one sandbox as the code-execution reward runs them, and the program in warm sandboxes
// (python_workers) beside a bare run of the same interpreter. One and two threads: runs per second on
// the machine's cores. Last, a sandboxed run started from a process holding 600 MiB, as a
// trainer does. Results: bench/RESULTS.md.
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rlft/sandbox/program.hpp"
#include "rlft/sandbox/python_workers.hpp"
#include "rlft/sandbox/run_sandboxed.hpp"
#include "rlft/sandbox/test_harness.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

fs::path work_root() {
  return fs::temp_directory_path() / ("rlft-sandbox-bench-" + std::to_string(::getpid()));
}

// Removes the work directories when the program ends.
const struct cleanup {
  ~cleanup() {
    std::error_code ignored;
    fs::remove_all(work_root(), ignored);
  }
} at_exit;

// A work directory per benchmark thread, holding main.py and the compiled C++ program.
fs::path prepared_directory(int thread) {
  const fs::path work = work_root() / std::to_string(thread);
  if (fs::exists(work / "main")) return work;
  fs::create_directories(work);
  std::ofstream(work / "main.py") << "print(sum(range(10)))\n";
  std::ofstream(work / "main.cpp") << "#include <cstdio>\nint main() { std::printf(\"45\\n\"); }\n";
  const std::string compile = "g++ -O2 -o " + (work / "main").string() + " " + (work / "main.cpp").string();
  if (std::system(compile.c_str()) != 0) throw std::runtime_error("g++ failed");
  return work;
}

void bare(benchmark::State& state, const std::vector<std::string>& command) {
  const fs::path work = prepared_directory(state.thread_index());
  std::vector<std::string> arguments = command;
  if (arguments.back() == "main.py") arguments.back() = (work / "main.py").string();
  if (arguments.front() == "./main") arguments.front() = (work / "main").string();
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  for (auto _ : state) {
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) state.SkipWithError("spawn");
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  posix_spawn_file_actions_destroy(&actions);
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void sandboxed(benchmark::State& state, const std::vector<std::string>& command) {
  const fs::path work = prepared_directory(state.thread_index());
  for (auto _ : state) {
    const auto result = rlft::sandbox::run_sandboxed(command, work, "");
    if (result.verdict != rlft::sandbox::run_verdict::completed || result.stdout_text != "45\n")
      state.SkipWithError(("unexpected run: " + result.stderr_text).c_str());
  }
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// state.range(0) test cases in one sandbox (rlft/sandbox/test_harness.hpp); the counter counts cases.
void cases_in_one_sandbox(benchmark::State& state, const std::vector<std::string>& command,
                          std::string_view python_file) {
  const fs::path work = prepared_directory(state.thread_index());
  const std::vector<std::string> inputs(static_cast<std::size_t>(state.range(0)), "");
  for (auto _ : state) {
    const auto results = rlft::sandbox::run_test_cases(command, python_file, work, inputs);
    for (const auto& result : results)
      if (result.verdict != rlft::sandbox::run_verdict::completed || result.stdout_text != "45\n")
        state.SkipWithError(("unexpected case: " + result.stderr_text).c_str());
  }
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(state.range(0) * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

// The program in warm sandboxes (rlft/sandbox/python_workers.hpp), one pool for all threads, on
// state.range(0) inputs per iteration as the code reward runs a completion; the counter counts cases.
void python_in_warm_workers(benchmark::State& state) {
  static rlft::sandbox::python_workers workers;
  const std::vector<std::string> inputs(static_cast<std::size_t>(state.range(0)), "");
  for (auto _ : state) {
    const auto results = workers.run("print(sum(range(10)))\n", inputs);
    for (const auto& result : results)
      if (result.verdict != rlft::sandbox::run_verdict::completed || result.stdout_text != "45\n")
        state.SkipWithError(("unexpected case: " + result.stderr_text).c_str());
  }
  state.counters["runs/s"] = benchmark::Counter(static_cast<double>(state.range(0) * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

// The same sandboxed Python run from a process that holds state.range(0) MiB of written memory,
// as a trainer holding a model and its activations does: what starting a run costs when the
// trainer's memory is large (registered last, since the memory stays with the process).
void sandboxed_python_from_large_process(benchmark::State& state) {
  static const std::vector<char> held(static_cast<std::size_t>(state.range(0)) << 20, 1);
  benchmark::DoNotOptimize(held.data());
  sandboxed(state, {"/usr/bin/python3", "-I", "main.py"});
}

void bare_python(benchmark::State& state) { bare(state, {"/usr/bin/python3", "-I", "main.py"}); }
void bare_python_no_site(benchmark::State& state) { bare(state, {"/usr/bin/python3", "-I", "-S", "main.py"}); }
void python_cases_one_sandbox(benchmark::State& state) { cases_in_one_sandbox(state, {}, "main.py"); }
void cpp_cases_one_sandbox(benchmark::State& state) { cases_in_one_sandbox(state, {"./main"}, ""); }
void sandboxed_python(benchmark::State& state) { sandboxed(state, {"/usr/bin/python3", "-I", "main.py"}); }
void bare_cpp(benchmark::State& state) { bare(state, {"./main"}); }
void sandboxed_cpp(benchmark::State& state) { sandboxed(state, {"./main"}); }

}  // namespace

BENCHMARK(bare_python)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(sandboxed_python)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(bare_cpp)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(sandboxed_cpp)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(python_cases_one_sandbox)->Arg(4)->UseRealTime()->Threads(1)->Threads(2);
// Warm sandboxes, beside the bare run of the interpreter they use (python3 -I -S).
BENCHMARK(bare_python_no_site)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(python_in_warm_workers)->Arg(1)->Arg(4)->UseRealTime()->Threads(1)->Threads(2);
BENCHMARK(cpp_cases_one_sandbox)->Arg(4)->UseRealTime()->Threads(1)->Threads(2);
// The harness's fixed cost and its cost per case, for a compiled program.
BENCHMARK(cpp_cases_one_sandbox)->Arg(1)->Arg(8)->Arg(32)->UseRealTime();
BENCHMARK(sandboxed_python_from_large_process)->Arg(600)->UseRealTime()->Threads(1)->Threads(2);
