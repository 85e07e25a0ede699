# Runs COMMAND (a CMake list) and succeeds only if it fails — non-zero exit or a signal — with
# output matching EXPECTED. Stricter than WILL_FAIL: a command that fails for an unrelated
# reason (a typo in a compile-fail source, a crash elsewhere) does not pass.
#   cmake "-DCOMMAND=prog;arg" "-DEXPECTED=regex" -P expect_failure.cmake
execute_process(
  COMMAND ${COMMAND}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
if(result EQUAL 0)
  message(FATAL_ERROR "'${COMMAND}' succeeded, but it must fail")
endif()
if(NOT output MATCHES "${EXPECTED}")
  message(FATAL_ERROR "'${COMMAND}' failed (${result}), but its output lacks '${EXPECTED}':\n${output}")
endif()
message(STATUS "'${COMMAND}' failed as expected (${result}) with '${EXPECTED}'")
