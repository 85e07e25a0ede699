# examples/tokenize --chat against transformers: every conversation of the Hugging Face fixtures
# (tests/hf_model/fixtures/cases.json, made by tools/make_hf_fixtures.py) goes through the program
# on standard input and must print the ids apply_chat_template(add_generation_prompt=True,
# tokenize=True) gave.
#   cmake -DTOKENIZE=rlft_tokenize -DFIXTURES=tests/hf_model/fixtures -DWORK=dir -P tokenize_chat.cmake
file(READ "${FIXTURES}/cases.json" cases)
file(MAKE_DIRECTORY "${WORK}")
set(compared 0)
foreach(model qwen2 llama)
  string(JSON count LENGTH "${cases}" models ${model} cases)
  math(EXPR last "${count} - 1")
  foreach(index RANGE ${last})
    string(JSON messages GET "${cases}" models ${model} cases ${index} messages)
    string(JSON expected GET "${cases}" models ${model} cases ${index} prompt_ids)
    file(WRITE "${WORK}/${model}_${index}.json" "${messages}")
    execute_process(
      COMMAND "${TOKENIZE}" --tokenizer "${FIXTURES}/${model}" --chat --add-generation-prompt
      INPUT_FILE "${WORK}/${model}_${index}.json"
      RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
    string(REGEX REPLACE "[ \n]" "" output "${output}")
    string(REGEX REPLACE "[ \n]" "" expected "${expected}")
    if(NOT result EQUAL 0 OR NOT output STREQUAL expected)
      message(FATAL_ERROR "${model} case ${index}: rlft_tokenize --chat printed\n${output}${errors}\ntransformers:\n${expected}")
    endif()
    math(EXPR compared "${compared} + 1")
  endforeach()
endforeach()
message(STATUS "${compared} conversations encoded as transformers encoded them")
