// Hostile programs under rlft::sandbox::run_sandboxed, in Python and C++: each gets the right
// verdict within its deadline plus a margin, the test process (the trainer) is unharmed, and
// no process, file or mount of the run is left behind. The executable's main first runs a
// trivial program; where the machine cannot run bubblewrap (no user namespaces, no bwrap) it
// prints why and exits 77, which CTest reports as skipped. Left behind is checked too: no live
// process of a sandbox uid, no mount of the test process, nothing in its private TMPDIR.
#define DOCTEST_CONFIG_IMPLEMENT  // main() below probes the sandbox first
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "rlft/sandbox/program.hpp"
#include "rlft/sandbox/run_sandboxed.hpp"
#include "sandbox_test_support.hpp"

namespace {

using namespace sandbox_test;

run_result python(const std::string& program, run_limits limits = {}, const std::string& input = "") {
  const auto before = host_state::now();
  run_result result;
  {
    work_directory work;
    work.write("main.py", program);
    result = run_sandboxed({"/usr/bin/python3", "main.py"}, work.path, input, limits);
  }
  CHECK(result.wall_seconds <= limits.wall_seconds + 1.5);
  CHECK(sandbox_processes() == 0);
  CHECK(host_state::now() == before);
  return result;
}

// Compiles the C++ program with g++ in the sandbox, then runs it under `limits`.
run_result cpp(const std::string& program, run_limits limits = {}) {
  const auto before = host_state::now();
  run_result result;
  {
    const rlft::sandbox::prepared_program prepared(rlft::sandbox::cpp(), program);
    REQUIRE_MESSAGE(prepared.compiled(), prepared.compile_result()->stderr_text);
    result = prepared.run("", limits);
  }
  CHECK(result.wall_seconds <= limits.wall_seconds + 1.5);
  CHECK(sandbox_processes() == 0);
  CHECK(host_state::now() == before);
  return result;
}

}  // namespace

TEST_CASE("a well-behaved program completes with its output, its input and its files") {
  const auto result = python("import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n", {}, "1 2 39\n");
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "42\n");
  CHECK(result.exit_status == 0);
  const auto compiled = cpp("#include <cstdio>\nint main() { std::printf(\"%d\\n\", 6 * 7); }\n");
  CHECK(compiled.verdict == run_verdict::completed);
  CHECK(compiled.stdout_text == "42\n");
  const auto failing = python("import sys\nsys.exit(3)\n");
  CHECK(failing.verdict == run_verdict::runtime_error);
  CHECK(failing.exit_status == 3);
  // A prepared program runs once per input; a compile error is reported, not run.
  const rlft::sandbox::prepared_program doubler(rlft::sandbox::python3(), "print(2 * int(input()))\n");
  CHECK(!doubler.compile_result());
  CHECK(doubler.run("4\n").stdout_text == "8\n");
  CHECK(doubler.run("-5\n").stdout_text == "-10\n");
  const rlft::sandbox::prepared_program broken(rlft::sandbox::cpp(), "int main( {\n");
  CHECK(!broken.compiled());
  CHECK(broken.compile_result()->stderr_text.find("error") != std::string::npos);
  CHECK_THROWS_WITH_AS(broken.run(""), doctest::Contains("did not compile"), rlft::error);
}

TEST_CASE("an infinite loop and a sleep past the deadline time out") {
  const auto spinning = python("while True:\n    pass\n", {.cpu_seconds = 1, .wall_seconds = 3});
  CHECK(spinning.verdict == run_verdict::timeout);
  CHECK(spinning.wall_seconds < 3.0);  // the CPU limit, before the deadline
  const auto sleeping = python("import time\ntime.sleep(100)\n", {.wall_seconds = 1});
  CHECK(sleeping.verdict == run_verdict::timeout);
  const auto spinning_cpp = cpp("int main() { volatile unsigned x = 0; for (;;) ++x; }\n",
                                {.cpu_seconds = 1, .wall_seconds = 3});
  CHECK(spinning_cpp.verdict == run_verdict::timeout);
}

TEST_CASE("a fork bomb is held by the process limit and leaves nothing behind") {
  const auto bomb = python("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                           {.cpu_seconds = 1, .wall_seconds = 2, .processes = 16});
  CHECK(bomb.verdict == run_verdict::timeout);
  const auto bomb_cpp = cpp("#include <unistd.h>\nint main() { for (;;) fork(); }\n",
                            {.cpu_seconds = 1, .wall_seconds = 2, .processes = 16});
  CHECK(bomb_cpp.verdict != run_verdict::completed);
}

TEST_CASE("a child in its own session dies with the run") {
  const auto result = python(
      "import subprocess\nsubprocess.Popen(['/usr/bin/sleep', '100'], start_new_session=True)\nprint('left')\n",
      {.wall_seconds = 5});
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.wall_seconds < 4.0);
  CHECK(sandbox_processes() == 0);
}

TEST_CASE("a memory hog meets the address-space limit") {
  const auto result = python("x = bytearray(4 * 1024 ** 3)\n", {.memory_bytes = std::size_t{256} << 20});
  CHECK(result.verdict == run_verdict::memory_limit);
  const auto result_cpp = cpp("#include <vector>\nint main() { std::vector<char> v(std::size_t{4} << 30, 1); return v[7]; }\n",
                              {.memory_bytes = std::size_t{256} << 20});
  CHECK(result_cpp.verdict == run_verdict::memory_limit);
}

TEST_CASE("huge output and a disk filler meet the output and file limits") {
  const auto chatty = python("while True:\n    print('x' * 1000)\n", {.output_bytes = 4096});
  CHECK(chatty.verdict == run_verdict::output_limit);
  CHECK(chatty.output_truncated);
  CHECK(chatty.stdout_text.size() == 4096);
  const auto filler = python("with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)\n",
                             {.file_bytes = std::size_t{1} << 20});
  CHECK(filler.verdict == run_verdict::output_limit);
  const auto tmp_filler = python("with open('/tmp/big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)\n",
                                 {.file_bytes = std::size_t{1} << 20});
  CHECK(tmp_filler.verdict == run_verdict::output_limit);
}

TEST_CASE("writes outside the work directory fail and reach nothing of the host") {
  const fs::path marker = "/tmp/rlft-sandbox-escape";  // the host's /tmp, not this test's TMPDIR
  fs::remove(marker);
  const auto result = python(
      "import os\nfailed = 0\n"
      "for path in ['/etc/rlft', '/usr/rlft', '/root/rlft', '/home/rlft', '/rlft']:\n"
      "    try:\n        open(path, 'w').write('x')\n    except OSError:\n        failed += 1\n"
      "open('/tmp/rlft-sandbox-escape', 'w').write('x')\n"
      "os.symlink('/etc/passwd', 'link')\n"
      "try:\n    open('link').read()\nexcept OSError:\n    failed += 1\n"
      "print(failed)\n");
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "6\n");
  CHECK(!fs::exists(marker));  // the sandbox's /tmp is its own
}

TEST_CASE("the host's secrets, environment and processes are out of sight") {
  ::setenv("RLFT_SANDBOX_TEST_SECRET", "hunter2", 1);
  const auto result = python(
      "import os\n"
      "print(os.path.exists('/etc/shadow'), 'RLFT_SANDBOX_TEST_SECRET' in os.environ,"
      " sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[:1] == [1], os.getppid() != 0)\n"
      "print(open('/proc/1/cmdline').read().split('\\0')[0].endswith('bwrap'))\n");
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "False False True True\nTrue\n");
}

TEST_CASE("no network: a listener on the host's loopback sees nothing, DNS fails") {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  const auto result = python("import socket\nfailures = 0\n"
                             "try:\n    socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                             "), timeout=1)\nexcept OSError:\n    failures += 1\n"
                             "try:\n    socket.getaddrinfo('example.com', 80)\nexcept OSError:\n    failures += 1\n"
                             "print(failures)\n");
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "2\n");
  pollfd waiting{listener, POLLIN, 0};
  CHECK(::poll(&waiting, 1, 100) == 0);  // no connection ever arrived
  ::close(listener);
}

TEST_CASE("signals to every process and to the parent hit only the sandbox") {
  // kill(-1) reaches every process of the PID namespace but the caller and its init; the init
  // (the parent, PID 1 there) ignores signals from inside.
  const auto result = python("import os, signal\n"
                             "for target in [-1, os.getppid(), 1]:\n"
                             "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\n"
                             "print('alive')\n");
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "alive\n");
  CHECK(::kill(::getpid(), 0) == 0);  // the trainer is still here
}

TEST_CASE("a system call the policy forbids ends the run as denied by policy") {
  const auto result = python("import ctypes\nctypes.CDLL(None).syscall(" + std::to_string(SYS_ptrace) +
                             ", 0, 0, 0, 0)\nprint('traced')\n");
  CHECK(result.verdict == run_verdict::denied_by_policy);
  CHECK(result.signal == SIGSYS);
  CHECK(result.stdout_text.empty());
  // System V shared memory would outlive the program in a warm sandbox (python_workers).
  const auto shared = python("import ctypes\nctypes.CDLL(None).shmget(0, 4096, 0o1600)\nprint('shared')\n");
  CHECK(shared.verdict == run_verdict::denied_by_policy);
}

TEST_CASE("a program that closes its input early leaves the trainer running") {
  // The rest of a large input meets a closed pipe: EPIPE for the runner, not SIGPIPE.
  const auto result = python("import os, time\nos.close(0)\ntime.sleep(0.2)\nprint('closed')\n", {},
                             std::string(std::size_t{1} << 20, 'x'));
  CHECK(result.verdict == run_verdict::completed);
  CHECK(result.stdout_text == "closed\n");
}

TEST_CASE("several test cases in one sandbox: each case its own verdict, limits and output") {
  const rlft::sandbox::prepared_program python_program(
      rlft::sandbox::python3(),
      "import os, sys\n"
      "n = int(input())\n"
      "if n == 0:\n    while True: pass\n"
      "if n == 1:\n    sys.exit(4)\n"
      "if n == 2:\n    x = bytearray(4 * 1024 ** 3)\n"
      "if n == 3:\n    print('y' * 100000)\n"
      "if n == 4:\n    import subprocess; subprocess.Popen(['/usr/bin/sleep', '100'], start_new_session=True)\n"
      "print(2 * n)\n");
  const run_limits limits{.cpu_seconds = 1, .wall_seconds = 2, .memory_bytes = std::size_t{256} << 20,
                          .output_bytes = 1000};
  const auto results = python_program.run_all({"21", "0", "1", "2", "3", "4", "-5"}, limits);
  REQUIRE(results.size() == 7);
  CHECK(results[0].verdict == run_verdict::completed);
  CHECK(results[0].stdout_text == "42\n");
  CHECK(results[1].verdict == run_verdict::timeout);
  CHECK(results[2].verdict == run_verdict::runtime_error);
  CHECK(results[2].exit_status == 4);
  CHECK(results[3].verdict == run_verdict::memory_limit);
  CHECK(results[4].verdict == run_verdict::output_limit);
  CHECK(results[5].verdict == run_verdict::completed);
  CHECK(results[6].stdout_text == "-10\n");
  CHECK(sandbox_processes() == 0);
  // A case that kills the harness loses the cases after it, as runtime errors.
  const rlft::sandbox::prepared_program killer(rlft::sandbox::python3(),
                                               "import os, signal\nif input() == 'k':\n    os.kill(os.getppid(), signal.SIGKILL)\nprint('ok')\n");
  const auto killed = killer.run_all({"a", "k", "b"}, limits);
  CHECK(killed[0].stdout_text == "ok\n");
  CHECK(killed[2].verdict == run_verdict::runtime_error);
  // C++: the compiled program is exec'd per case, by the harness from eight cases on and in a
  // sandbox each below that; the same results either way.
  const rlft::sandbox::prepared_program cpp_program(
      rlft::sandbox::cpp(), "#include <iostream>\nint main() { long x; std::cin >> x; if (x == 0) for (;;) {} std::cout << 2 * x << '\\n'; }\n");
  for (const auto& inputs : {std::vector<std::string>{"21", "0", "-5"},
                             std::vector<std::string>{"21", "0", "-5", "1", "2", "3", "4", "5"}}) {
    const auto cpp_results = cpp_program.run_all(inputs, limits);
    REQUIRE(cpp_results.size() == inputs.size());
    CHECK(cpp_results[0].stdout_text == "42\n");
    CHECK(cpp_results[1].verdict == run_verdict::timeout);
    CHECK(cpp_results[2].stdout_text == "-10\n");
    CHECK(cpp_results.back().verdict == run_verdict::completed);
  }
  CHECK(sandbox_processes() == 0);
}

TEST_CASE("bad limits and a missing bubblewrap are refused with what is wrong") {
  work_directory work;
  CHECK_THROWS_WITH_AS(run_sandboxed({"/usr/bin/true"}, work.path, "", {.wall_seconds = 0}),
                       doctest::Contains("wall_seconds"), rlft::error);
  CHECK_THROWS_WITH_AS(run_sandboxed({"/usr/bin/true"}, work.path, "", {}, {.bwrap = "/nonexistent/bwrap"}),
                       doctest::Contains("bubblewrap is not at /nonexistent/bwrap"), rlft::error);
  CHECK_THROWS_WITH_AS(run_sandboxed({"/usr/bin/true"}, work.path / "missing", ""),
                       doctest::Contains("does not exist"), rlft::error);
  // A bubblewrap that never sets the sandbox up (as where user namespaces are forbidden).
  CHECK_THROWS_WITH_AS(run_sandboxed({"/usr/bin/true"}, work.path, "", {}, {.bwrap = "/usr/bin/false"}),
                       doctest::Contains("bubblewrap could not set up the sandbox"), rlft::error);
}

int main(int argc, char** argv) {
  // A temporary directory of this executable's own, which runs must leave empty; traversable by
  // the sandbox's unprivileged uids.
  std::string root = (fs::temp_directory_path() / "rlft-sandbox-tests-XXXXXX").string();
  if (::mkdtemp(root.data()) == nullptr || ::chmod(root.c_str(), 0711) != 0) {
    std::cerr << "cannot make a temporary directory\n";
    return 1;
  }
  ::setenv("TMPDIR", root.c_str(), 1);
  const struct remove_root {
    std::string path;
    ~remove_root() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{root};
  // Skipped with the reason where the machine cannot run the sandbox at all.
  try {
    work_directory work;
    const auto probe = run_sandboxed({"/usr/bin/true"}, work.path, "");
    if (probe.verdict != run_verdict::completed) {
      std::cerr << "skipped: bubblewrap cannot run here (" << probe.stderr_text << ")\n";
      return 77;
    }
  } catch (const rlft::error& e) {
    std::cerr << "skipped: " << e.what() << '\n';
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
