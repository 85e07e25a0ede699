# One harness under CTest: the committed regression inputs first (each a past finding, which must
# now pass), then SECONDS of fuzzing from a fresh working corpus seeded with SEEDS. A finding
# stops the run and is left in WORK; once fixed, commit it to tests/fuzz/regressions/NAME/.
#   cmake -DFUZZER=prog -DNAME=name -DREGRESSIONS=dir -DSEEDS=dir -DDICTIONARY=file -DWORK=dir
#         -DSECONDS=n -P run_fuzzer.cmake
set(limits -rss_limit_mb=2048 -timeout=20 -malloc_limit_mb=1024 -print_final_stats=1)
if(DICTIONARY)
  list(APPEND limits "-dict=${DICTIONARY}")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus")

file(GLOB regressions "${REGRESSIONS}/*")
if(regressions)
  execute_process(COMMAND "${FUZZER}" ${limits} -runs=0 "${REGRESSIONS}" RESULT_VARIABLE result
                  WORKING_DIRECTORY "${WORK}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${NAME}: a committed regression input fails again (${REGRESSIONS})")
  endif()
  list(LENGTH regressions count)
  message(STATUS "${NAME}: ${count} regression inputs pass")
endif()

execute_process(COMMAND "${FUZZER}" ${limits} "-max_total_time=${SECONDS}" "-artifact_prefix=${WORK}/"
                        "${WORK}/corpus" "${SEEDS}"
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output WORKING_DIRECTORY "${WORK}")
file(WRITE "${WORK}/fuzzer.log" "${output}")
if(NOT result EQUAL 0)
  string(LENGTH "${output}" length)
  if(length GREATER 6000)
    math(EXPR start "${length} - 6000")
    string(SUBSTRING "${output}" ${start} -1 output)
  endif()
  file(GLOB findings "${WORK}/crash-*" "${WORK}/leak-*" "${WORK}/timeout-*" "${WORK}/oom-*")
  message(FATAL_ERROR "${output}\n${NAME}: finding ${findings}; reproduce with ${FUZZER} <file>, fix it, and commit "
                      "the file to tests/fuzz/regressions/${NAME}/")
endif()
string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" _ "${output}")
set(executions "${CMAKE_MATCH_1}")
string(REGEX MATCH "stat::peak_rss_mb: *([0-9]+)" _ "${output}")
message(STATUS "${NAME}: ${executions} executions in ${SECONDS} s, peak RSS ${CMAKE_MATCH_1} MB, no findings")
