# Crash safety at every commit point of a checkpoint: for N = 1, 2, ... a fresh 3-step grpo_hf run
# is killed (SIGKILL, kill_at_commit.cpp preloaded) just before its Nth fsync or rename, the two
# steps of each atomic file write, until N passes the run's last one; each killed run is resumed
# to the end without the preload, and its model and training metrics must equal an uninterrupted
# run's. With a checkpoint every step this covers each file of each checkpoint, latest.json and the
# final model, at both points.
#   cmake -DGRPO_HF=prog -DPRELOAD=lib -DSOURCE_DIR=src -DWORK=dir -DMODEL=qwen2 -P kill_at_commits.cmake
set(STEPS 3)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(OUTPUT "${WORK}/uninterrupted")
include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
run_grpo_hf("the uninterrupted run")
file(SHA256 "${WORK}/uninterrupted/model.safetensors" expected_model)
training_records("${WORK}/uninterrupted/metrics.jsonl" expected_records)

set(finished FALSE)
foreach(point RANGE 1 200)
  set(OUTPUT "${WORK}/killed_at_${point}")
  include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
  execute_process(COMMAND env "LD_PRELOAD=${PRELOAD}" "RLFT_KILL_AT_COMMIT=${point}"
                          "${GRPO_HF}" ${grpo_hf_arguments}
                  RESULT_VARIABLE result OUTPUT_QUIET ERROR_VARIABLE errors)
  if(result EQUAL 0)
    math(EXPR killed "${point} - 1")  # the run has fewer commit points than `point`
    set(finished TRUE)
    break()
  elseif(NOT result MATCHES "[Kk]illed")
    message(FATAL_ERROR "commit point ${point}: the run failed instead of being killed (${result}): ${errors}")
  endif()
  set(resume "")
  if(EXISTS "${OUTPUT}/checkpoints/latest.json")
    set(resume --resume)
  endif()
  run_grpo_hf("killed at commit point ${point}, the resumed run" ${resume})
  file(SHA256 "${OUTPUT}/model.safetensors" actual_model)
  training_records("${OUTPUT}/metrics.jsonl" actual_records)
  if(NOT actual_model STREQUAL expected_model OR NOT actual_records STREQUAL expected_records)
    message(FATAL_ERROR "killed at commit point ${point} and resumed, the run ends differently:\n"
                        "${actual_records}\nuninterrupted:\n${expected_records}")
  endif()
  file(REMOVE_RECURSE "${OUTPUT}")
endforeach()
if(NOT finished)
  message(FATAL_ERROR "more than 200 commit points: is the preload counting?")
endif()
if(killed LESS 10)
  message(FATAL_ERROR "only ${killed} commit points in a 3-step run with a checkpoint each step")
endif()
message(STATUS "killed at each of ${killed} commit points and resumed: every run ends as the uninterrupted one")
