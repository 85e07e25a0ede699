// Several test cases of one program in one sandbox: a small Python harness runs inside
// rlft::sandbox::run_sandboxed and forks one child per case, with that case's input, its own
// rlimits (CPU seconds, address space, file size, processes, open files), wall deadline and
// output cap, then reports every case as one JSON line on the sandbox's stdout, which no case
// holds. One sandbox setup serves all the cases, and for Python programs the interpreter starts
// once: each child is a fork of the harness that compiles and executes the program's source (a
// fresh __main__ module, fresh standard streams). The cases share the sandbox's work directory,
// /tmp and process limit, and run in order, so a deterministic program gets the same results
// every time. A program that kills the harness (it may: same user, same PID namespace) loses
// the cases not yet reported, which count as runtime errors. The same harness, started with
// --persistent, serves job after job in the warm sandboxes of rlft/sandbox/python_workers.hpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/sandbox/run_sandboxed.hpp"

namespace rlft::sandbox {

namespace detail {

// The harness. Its job arrives on stdin as JSON: the program ("python": the source file run in
// a forked interpreter, or "argv": a command to exec), the inputs, and the per-case limits.
// Results go to the harness's stdout, one JSON line per case; each case's standard streams are
// pipes of its own.
inline constexpr std::string_view harness_source = R"PY(
import json, os, resource, select, signal, sys, time
persistent = sys.argv[1:] == ["--persistent"]
os.remove(sys.argv[0])  # the work directory holds only what the job puts there
if persistent:
    import ctypes
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no program reaches this process's memory through /proc

def child(input_read, out_write, err_write):
    if persistent:
        prctl(4, 1, 0, 0, 0)  # the program sees its own /proc as it would alone
    os.setpgid(0, 0)
    os.dup2(input_read, 0)
    os.dup2(out_write, 1)
    os.dup2(err_write, 2)
    os.closerange(3, 65536)
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"], limits["memory_bytes"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    for limit, value in ((resource.RLIMIT_NPROC, limits["processes"]), (resource.RLIMIT_NOFILE, limits["open_files"])):
        value = min(value, resource.getrlimit(limit)[1])  # the sandbox's, when it is lower
        resource.setrlimit(limit, (value, value))
    if "python" not in job:
        os.execv(job["argv"][0], job["argv"])
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = [job["python"]]
    code = 0
    try:
        with open(job["python"], "rb") as f:
            source = f.read()
        exec(compile(source, job["python"], "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException as e:
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)  # from the program's frame on
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = code or 1
    os._exit(code)

def run(text):
    input_read, input_write = os.pipe()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            child(input_read, out_write, err_write)
        finally:
            os._exit(127)
    for fd in (input_read, out_write, err_write):
        os.close(fd)
    exited = os.pidfd_open(pid)  # readable once the case's process ends
    data = text.encode()
    outputs = {out_read: bytearray(), err_read: bytearray()}
    open_fds = [out_read, err_read]
    truncated = timed_out = False
    deadline = start + limits["wall_seconds"]
    os.set_blocking(input_write, False)
    writing = [input_write] if data else []
    if not data:
        os.close(input_write)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        readable, writable, _ = select.select(open_fds + [exited], writing, [], left)
        if exited in readable:
            # Done: what its pipes hold now is its output (a child it left may keep them open).
            for fd in open_fds:
                os.set_blocking(fd, False)
                try:
                    while len(outputs[fd]) <= limits["output_bytes"]:
                        chunk = os.read(fd, 65536)
                        if not chunk:
                            break
                        outputs[fd] += chunk
                except BlockingIOError:
                    pass
                if len(outputs[fd]) > limits["output_bytes"]:
                    del outputs[fd][limits["output_bytes"]:]
                    truncated = True
            break
        if writable:
            try:
                written = os.write(input_write, data)
                data = data[written:]
            except OSError:
                data = b""
            if not data:
                os.close(input_write)
                writing = []
        for fd in readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                os.close(fd)
                continue
            room = limits["output_bytes"] - len(outputs[fd])
            outputs[fd] += chunk[:max(room, 0)]
            if len(chunk) > room:
                truncated = True
        if truncated:
            break
    if timed_out or truncated:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)  # what the case left running
    except OSError:
        pass
    for fd in open_fds:
        os.close(fd)
    os.close(exited)
    if writing:
        os.close(input_write)
    return {"exit_status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
            "wall_seconds": time.monotonic() - start, "timed_out": timed_out, "truncated": truncated,
            "stdout": outputs[out_read].decode("utf-8", "replace"),
            "stderr": outputs[err_read].decode("utf-8", "replace")}

def emptied(directory):
    try:
        for entry in os.scandir(directory):
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                if not emptied(entry.path):
                    return False
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        return True
    except BaseException:
        return False

def reset():
    # Every other process in the sandbox's PID namespace (its init excepted) dies, then the
    # writable directories are emptied: the next job finds the sandbox as this one found it.
    give_up = time.monotonic() + 2.0
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        if time.monotonic() > give_up:
            return False
        time.sleep(0.001)
    return all(emptied(directory) for directory in ("/work", "/tmp", "/dev/shm"))

for line in sys.stdin.buffer:
    job = json.loads(line)
    limits = job["limits"]
    if "source" in job:
        with open(job["python"], "wb") as f:
            f.write(job["source"].encode())
    for text in job["inputs"]:
        os.write(1, (json.dumps(run(text)) + "\n").encode())
    if persistent:
        os.write(1, (json.dumps({"clean": reset()}) + "\n").encode())
)PY";

// The harness's report of one case (a JSON object) as a run_result.
inline run_result case_result(const nlohmann::json& report) {
  run_result result;
  result.exit_status = report.value("exit_status", -1);
  result.signal = report.value("signal", 0);
  result.wall_seconds = report.value("wall_seconds", 0.0);
  result.stdout_text = report.value("stdout", std::string{});
  result.stderr_text = report.value("stderr", std::string{});
  result.output_truncated = report.value("truncated", false);
  result.verdict = classify(result, report.value("timed_out", false), result.output_truncated);
  return result;
}

// The limits a job hands the harness: what each case gets.
inline nlohmann::json case_limits(const run_limits& limits) {
  return {{"cpu_seconds", std::ceil(limits.cpu_seconds)},
          {"wall_seconds", limits.wall_seconds},
          {"memory_bytes", limits.memory_bytes},
          {"file_bytes", limits.file_bytes},
          {"processes", process_limit(limits)},
          {"open_files", limits.open_files},
          {"output_bytes", limits.output_bytes}};
}

// The bytes the harness's reports of `cases` cases may take: each case's two outputs,
// JSON-escaped (up to 6 bytes a byte), and its fields.
inline std::size_t report_bytes(std::size_t cases, const run_limits& limits) {
  return 6 * (cases * (2 * limits.output_bytes + 4096) + 4096);
}

}  // namespace detail

// Runs `command` (an exec'd program, e.g. {"./main"}) or, when `python_source_file` is given,
// that Python source in forked interpreters, once per input, all in one sandbox over `work`.
// `limits` holds per case (CPU, wall, memory, file size, output); the whole run gets the sum of
// the wall limits plus two seconds. Returns one result per input, in order; cases the harness
// did not report (it was killed, or the whole run timed out) are runtime errors or timeouts.
// Throws as run_sandboxed does.
inline std::vector<run_result> run_test_cases(const std::vector<std::string>& command, std::string_view python_source_file,
                                              const std::filesystem::path& work, const std::vector<std::string>& inputs,
                                              const run_limits& limits = {}, const run_options& options = {}) {
  detail::check_limits(limits);
  if (python_source_file.empty() && command.empty()) throw error("rlft sandbox: the command is empty");
  const std::filesystem::path harness = work / ".rlft_harness.py";
  {
    std::ofstream file(harness, std::ios::binary);
    file << detail::harness_source;
    if (!file) throw error(rlft::detail::make_message("rlft sandbox: cannot write ", harness.string()));
  }
  nlohmann::json job = {{"inputs", inputs}, {"limits", detail::case_limits(limits)}};
  if (!python_source_file.empty()) job["python"] = std::string(python_source_file);
  else job["argv"] = command;
  run_limits whole = limits;
  whole.wall_seconds = limits.wall_seconds * static_cast<double>(inputs.size()) + 2.0;
  whole.cpu_seconds = limits.cpu_seconds * static_cast<double>(inputs.size()) + 2.0;  // the harness's own share
  whole.output_bytes = detail::report_bytes(inputs.size(), limits);
  const auto run = run_sandboxed({"/usr/bin/python3", "-I", "-S", ".rlft_harness.py"}, work,
                                 job.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", whole, options);
  std::error_code ignored;
  std::filesystem::remove(harness, ignored);

  std::vector<run_result> results;
  std::size_t line_begin = 0;
  while (results.size() < inputs.size()) {
    const std::size_t line_end = run.stdout_text.find('\n', line_begin);
    if (line_end == std::string::npos) break;
    const auto report = nlohmann::json::parse(run.stdout_text.substr(line_begin, line_end - line_begin), nullptr, false);
    line_begin = line_end + 1;
    if (!report.is_object()) break;
    results.push_back(detail::case_result(report));
  }
  const bool whole_run_timed_out = run.verdict == run_verdict::timeout && run.wall_seconds >= whole.wall_seconds;
  while (results.size() < inputs.size()) {  // not reported: the harness died or the whole run timed out
    run_result missing;
    missing.verdict = whole_run_timed_out ? run_verdict::timeout : run_verdict::runtime_error;
    missing.stderr_text = run.stderr_text;
    results.push_back(std::move(missing));
  }
  return results;
}

}  // namespace rlft::sandbox
