# Crash safety: a checkpoint that cannot be written (the file-size limit of `ulimit -f` stands in
# for a full disk) stops grpo_hf with an error that says so, and the previous checkpoint stays
# intact: resumed from it, the run ends exactly as an uninterrupted one.
#   cmake -DGRPO_HF=prog -DSOURCE_DIR=src -DWORK=dir -DMODEL=llama -P disk_full.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(STEPS 3)
set(OUTPUT "${WORK}/uninterrupted")
include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
run_grpo_hf("the uninterrupted run")

set(OUTPUT "${WORK}/full")
set(STEPS 1)
include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
run_grpo_hf("the first step")
file(READ "${OUTPUT}/checkpoints/latest.json" pointer_before)

# Step 2 under a 64 KiB file-size limit (below the policy's weights): its checkpoint cannot be
# written. SIGXFSZ is ignored so that the write fails with EFBIG, as on a full disk.
set(STEPS 2)
include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
list(JOIN grpo_hf_arguments "' '" quoted)
execute_process(COMMAND sh -c "ulimit -f 128; trap '' XFSZ; exec '${GRPO_HF}' '${quoted}' --resume"
                RESULT_VARIABLE result OUTPUT_QUIET ERROR_VARIABLE refusal)
if(result EQUAL 0 OR NOT refusal MATCHES "cannot write .*disk full")
  message(FATAL_ERROR "a checkpoint past the file-size limit must fail with a message saying so (${result}): ${refusal}")
endif()
file(READ "${OUTPUT}/checkpoints/latest.json" pointer_after)
if(NOT pointer_after STREQUAL pointer_before)
  message(FATAL_ERROR "the failed checkpoint replaced the pointer to the previous one")
endif()

set(STEPS 3)
include("${CMAKE_CURRENT_LIST_DIR}/run_arguments.cmake")
execute_process(COMMAND "${GRPO_HF}" ${grpo_hf_arguments} --resume RESULT_VARIABLE result OUTPUT_QUIET
                ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "resuming from the checkpoint before the failed one failed: ${errors}")
endif()
file(SHA256 "${WORK}/uninterrupted/model.safetensors" expected)
file(SHA256 "${OUTPUT}/model.safetensors" actual)
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "resumed after the failed checkpoint, the run ends elsewhere than the uninterrupted one")
endif()
message(STATUS "the checkpoint past the limit failed with: ${refusal}")
