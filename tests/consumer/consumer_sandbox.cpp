// A user's program on the installed sandbox (rlft::sandbox): it builds the system-call filter
// with libseccomp (running a program needs bubblewrap and user namespaces, which the
// sandbox's own tests check) and names a verdict.
#include <rlft/rewards/code_execution.hpp>
#include <rlft/sandbox/run_sandboxed.hpp>

#include <cstdio>
#include <cstring>

int main() {
  const auto filter = rlft::sandbox::seccomp_program();
  if (!filter) return 1;
  if (std::strcmp(rlft::sandbox::verdict_name(rlft::sandbox::run_verdict::timeout), "timeout") != 0) return 1;
  const rlft::code_execution_reward reward{};
  if (!reward.extract_program("```python\nprint(1)\n```")) return 1;
  std::printf("rlft sandbox consumer: ok\n");
  return 0;
}
