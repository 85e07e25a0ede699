// Runs one program under rlft's sandbox and prints what happened as one JSON object: verdict,
// exit status or signal, wall seconds, captured (capped) stdout and stderr, and the compiler's
// run for C++. What to reach for when a code-execution reward looks wrong:
//   rlft_sandbox_run --lang python solution.py --stdin case1.txt --time-limit 2 --memory-limit 256
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "rlft/sandbox/program.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw rlft::error("sandbox_run: cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

nlohmann::json describe(const rlft::sandbox::run_result& result) {
  return {{"verdict", rlft::sandbox::verdict_name(result.verdict)},
          {"exit_status", result.exit_status},
          {"signal", result.signal},
          {"wall_seconds", result.wall_seconds},
          {"stdout", result.stdout_text},
          {"stderr", result.stderr_text},
          {"output_truncated", result.output_truncated}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run one program in rlft's sandbox and print its verdict as JSON"};
  std::string lang = "python", source, stdin_file;
  rlft::sandbox::run_limits limits;
  double memory_megabytes = static_cast<double>(limits.memory_bytes >> 20);
  app.add_option("--lang", lang, "python or cpp")->check(CLI::IsMember({"python", "cpp"}));
  app.add_option("file", source, "the program's source")->required();
  app.add_option("--stdin", stdin_file, "a file to give the program on its standard input");
  app.add_option("--time-limit", limits.cpu_seconds, "CPU seconds (the wall deadline is twice that plus 1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--memory-limit", memory_megabytes, "address space in MiB")->check(CLI::Range(16.0, 1048576.0));
  CLI11_PARSE(app, argc, argv);
  limits.wall_seconds = 2.0 * limits.cpu_seconds + 1.0;
  limits.memory_bytes = static_cast<std::size_t>(memory_megabytes * (1 << 20));
  try {
    const rlft::sandbox::prepared_program program(lang == "python" ? rlft::sandbox::python3() : rlft::sandbox::cpp(),
                                                  read_file(source));
    nlohmann::json report;
    if (program.compile_result()) report["compile"] = describe(*program.compile_result());
    if (!program.compiled()) {
      report["verdict"] = "compile error";
    } else {
      report.update(describe(program.run(stdin_file.empty() ? std::string{} : read_file(stdin_file), limits)));
    }
    std::cout << report.dump(2) << '\n';
  } catch (const rlft::error& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
