# Runs the quick pipeline three ways — straight through; stopped after a mid-stage checkpoint;
# resumed — and requires the resumed run's metrics and results to equal the straight run's.
#   cmake -DPIPELINE=... -DSAME_METRICS=... -DWORK=... -DSTOP_AT=stage:step [-DESTIMATOR=ppo] -P resume_matches.cmake
# ESTIMATOR: stage 2's --reasoning-estimator (ppo: the critic is checkpointed and resumed too).
file(REMOVE_RECURSE "${WORK}")
set(common --quick --checkpoint-every 1 --threads 2)
if(ESTIMATOR)
  list(APPEND common --reasoning-estimator "${ESTIMATOR}")
endif()

execute_process(COMMAND "${PIPELINE}" ${common} --output "${WORK}/straight" RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the uninterrupted run failed (${result})")
endif()

execute_process(COMMAND "${PIPELINE}" ${common} --output "${WORK}/resumed" --stop-at "${STOP_AT}"
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 3)
  message(FATAL_ERROR "the run to interrupt did not stop at ${STOP_AT} (exit ${result})")
endif()

execute_process(COMMAND "${PIPELINE}" ${common} --output "${WORK}/resumed" --resume
                RESULT_VARIABLE result OUTPUT_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the resumed run failed (${result}):\n${output}")
endif()
if(NOT output MATCHES "resumed at step")
  message(FATAL_ERROR "the resumed run did not continue from the mid-stage checkpoint:\n${output}")
endif()

execute_process(COMMAND "${SAME_METRICS}" "${WORK}/straight/metrics.jsonl" "${WORK}/resumed/metrics.jsonl"
                RESULT_VARIABLE result OUTPUT_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "resumed metrics differ from the uninterrupted run's:\n${output}")
endif()
message(STATUS "${output}")
