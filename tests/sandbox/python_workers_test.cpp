// rlft::sandbox::python_workers: programs in a warm sandbox get the results they get in a
// sandbox of their own, leave nothing to the program after them, and cannot reach the harness;
// a program that breaks its worker runs again alone.
#include <doctest/doctest.h>

#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "rlft/sandbox/python_workers.hpp"
#include "rlft/sandbox/test_harness.hpp"
#include "sandbox_test_support.hpp"

namespace {

using namespace sandbox_test;
using rlft::sandbox::python_workers;

// The program in a sandbox of its own, through the same harness.
std::vector<run_result> alone(const std::string& source, const std::vector<std::string>& inputs,
                              const run_limits& limits) {
  work_directory work;
  work.write("main.py", source);
  return rlft::sandbox::run_test_cases({}, "main.py", work.path, inputs, limits);
}

void check_same(const std::vector<run_result>& warm, const std::vector<run_result>& reference) {
  REQUIRE(warm.size() == reference.size());
  for (std::size_t i = 0; i < warm.size(); ++i) {
    CAPTURE(i);
    CHECK(warm[i].verdict == reference[i].verdict);
    // How an output-limited run ends depends on whether it was done when the cap struck, and a
    // time-out ends by SIGXCPU or by the wall deadline's SIGKILL, whichever a loaded machine
    // reaches first: only the verdict is theirs to agree on.
    const auto verdict = warm[i].verdict;
    if (verdict != rlft::sandbox::run_verdict::output_limit && verdict != rlft::sandbox::run_verdict::timeout) {
      CHECK(warm[i].exit_status == reference[i].exit_status);
      CHECK(warm[i].signal == reference[i].signal);
    }
    CHECK(warm[i].stdout_text == reference[i].stdout_text);
    CHECK(warm[i].stderr_text == reference[i].stderr_text);
  }
}

const run_limits limits{.cpu_seconds = 1, .wall_seconds = 2, .memory_bytes = std::size_t{256} << 20, .output_bytes = 1000};

}  // namespace

TEST_CASE("warm workers: each program's results equal its results in a sandbox of its own") {
  const auto before = host_state::now();
  {
    python_workers workers;
    const std::vector<std::pair<std::string, std::vector<std::string>>> programs = {
        {"print(2 * int(input()))", {"21", "-5", "x"}},
        {"import sys\nsys.exit(3)", {""}},
        {"import sys\nsys.exit('a message')", {""}},
        {"print(1", {""}},
        {"while True:\n    pass", {""}},
        {"x = bytearray(4 * 1024 ** 3)", {""}},
        {"print('y' * 100000)", {""}},
        {"open('/tmp/t', 'w').write('1')\nopen('w', 'w').write('1')\nopen('/dev/shm/s', 'w').write('1')\nprint('wrote')",
         {""}},
        {"import os\nprint(sorted(os.listdir('.')), os.listdir('/tmp'), os.listdir('/dev/shm'))", {""}},
    };
    for (const auto& [source, inputs] : programs) {
      CAPTURE(source);
      check_same(workers.run(source, inputs, limits), alone(source, inputs, limits));
    }
    CHECK(workers.workers_started() == 1);
    CHECK(workers.programs_run_alone() == 0);
    // Against the interpreter run directly, without a harness.
    work_directory work;
    work.write("main.py", "print(2 * int(input()))");
    CHECK(workers.run("print(2 * int(input()))", {"21"}, limits).front().stdout_text ==
          run_sandboxed({"/usr/bin/python3", "-I", "-S", "main.py"}, work.path, "21", limits).stdout_text);
  }
  CHECK(sandbox_processes() == 0);
  CHECK(host_state::now() == before);
}

TEST_CASE("warm workers: a program leaves no process or file to the next") {
  python_workers workers;
  const auto left = workers.run("import os, subprocess\n"
                                "open('/tmp/t', 'w').write('1'); open('w', 'w').write('1'); os.mkdir('d')\n"
                                "open('/dev/shm/s', 'w').write('1'); os.chmod('d', 0)\n"
                                "subprocess.Popen(['/usr/bin/sleep', '100'], start_new_session=True)\n"
                                "if os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(100)\n"
                                "print('left')",
                                {""}, limits);
  CHECK(left.front().stdout_text == "left\n");
  const std::string look = "import os\n"
                           "others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getppid(), os.getpid())]\n"
                           "print(sorted(os.listdir('.')), os.listdir('/tmp'), os.listdir('/dev/shm'), others)";
  CHECK(workers.run(look, {""}, limits).front().stdout_text == "['main.py'] [] [] []\n");
  const auto bomb = workers.run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                                {""}, {.cpu_seconds = 1, .wall_seconds = 2, .processes = 16});
  CHECK(bomb.front().verdict == run_verdict::timeout);
  CHECK(workers.run(look, {""}, limits).front().stdout_text == "['main.py'] [] [] []\n");
  CHECK(workers.workers_started() == 1);
  CHECK(workers.programs_run_alone() == 0);
}

TEST_CASE("warm workers: the harness is out of a program's reach, and one that stops it runs alone") {
  python_workers workers;
  // Its memory and descriptors: /proc of a process that is not dumpable is closed to its uid.
  const auto reach = workers.run("import os\n"
                                 "for name in ('mem', 'environ', 'fd/0'):\n"
                                 "    try:\n        open('/proc/%d/%s' % (os.getppid(), name), 'rb').read(1)\n"
                                 "        print('read', name)\n"
                                 "    except OSError as e:\n        print(type(e).__name__)\n",
                                 {""}, limits);
  CHECK(reach.front().stdout_text == "PermissionError\nPermissionError\nPermissionError\n");
  // Killed or stopped, the harness loses the job; the program runs again alone, with the
  // results it gets there.
  const std::string killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('after')";
  check_same(workers.run(killer, {""}, limits), alone(killer, {""}, limits));
  CHECK(workers.programs_run_alone() == 1);
  const run_limits short_limits{.cpu_seconds = 1, .wall_seconds = 0.5};
  const std::string stopper = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint('after')";
  check_same(workers.run(stopper, {""}, short_limits), alone(stopper, {""}, short_limits));
  CHECK(workers.programs_run_alone() == 2);
  CHECK(workers.run("print(6 * 7)", {""}, limits).front().stdout_text == "42\n");
  CHECK(workers.workers_started() == 3);
}

TEST_CASE("warm workers: callers on several threads get what one caller gets; limits above the ceiling are refused") {
  python_workers workers;
  std::vector<std::string> sources;
  for (int i = 0; i < 24; ++i)
    sources.push_back(i % 5 == 4 ? "raise ValueError(" + std::to_string(i) + ")" : "print(" + std::to_string(i) + " ** 2)");
  std::vector<std::vector<run_result>> parallel(sources.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < sources.size(); i += 3) parallel[i] = workers.run(sources[i], {""}, limits);
    });
  for (auto& thread : threads) thread.join();
  CHECK(workers.workers_started() <= 3);
  for (std::size_t i = 0; i < sources.size(); ++i) check_same(parallel[i], workers.run(sources[i], {""}, limits));
  CHECK_THROWS_WITH_AS(workers.run("print(1)", {""}, {.memory_bytes = std::size_t{1} << 30}),
                       doctest::Contains("memory_bytes"), rlft::error);
  CHECK_THROWS_WITH_AS(python_workers({}, {}, 0), doctest::Contains("jobs_per_worker"), rlft::error);
}
