#!/usr/bin/env python3
"""Golden fixture for rlft's chat templates (include/rlft/text/chat_template.hpp).

Renders chat templates written for these tests (not any model's real template) with
transformers' own renderer, a tokenizer's apply_chat_template(..., tokenize=False), over
varied conversations: system prompts, multi-turn chats, assistant turns with <think> blocks
or reasoning_content, tool calls and tool responses, content blocks, non-ASCII text (Japanese,
emoji), add_generation_prompt on and off, with and without a tools list, and extra template
variables. Together the templates use every Jinja construct that the Qwen2.5, Qwen2.5-Math,
Qwen3, Llama 3.1/3.2, DeepSeek-R1-Distill, SmolLM2 and Mistral templates use, plus the Python
semantics behind them (printing, arithmetic, string methods, filters, tests, whitespace control).

Writes tests/text/chat_template/golden/chat_templates.json:
  templates       name -> template text
  conversations   name -> list of messages (OpenAI layout)
  tool_sets       name -> list of tool schemas, or null
  cases           {template, conversation, add_generation_prompt, tools, variables} with
                  "expected" (the rendered text) or "expected_error" (transformers raised)
  bos_token, eos_token, local_time (strftime_now is frozen at this local time)

Usage: python3 tools/make_golden_chat_templates.py [output file]
Needs: pip install transformers jinja2 (transformers pulls in tokenizers; no model download).
"""
import datetime
import json
import os
import sys

import jinja2
import transformers
import transformers.utils.chat_template_utils as chat_template_utils
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

LOCAL_TIME = (2024, 7, 26, 10, 30, 5)
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"


class FrozenDatetime(datetime.datetime):
    """strftime_now reads datetime.now(); freezing it makes the fixture reproducible."""

    @classmethod
    def now(cls, tz=None):
        return cls(*LOCAL_TIME)


TEMPLATES = {}

# ChatML-like turns written with plain tags: trim_blocks and lstrip_blocks do all the work.
TEMPLATES["chatml_trimmed"] = """{%- set default_system = 'You are a careful test assistant.' -%}
{% for message in messages %}
{% if loop.first and messages[0]['role'] != 'system' %}
<|start|>system
{{ default_system }}<|stop|>
{% endif %}
<|start|>{{ message['role'] }}
{{ message['content'] }}<|stop|>
{% endfor %}
{% if add_generation_prompt %}
<|start|>assistant
{% endif %}
"""

# A tools prompt in the system turn, tool calls and grouped tool responses.
TEMPLATES["tool_turns"] = r"""{#- Tools go into the system turn when there are any. -#}
{%- if tools %}
    {{- '<|start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "Functions you may call:\n<functions>" }}
    {%- for tool in tools %}
        {{- "\n" + tool | tojson }}
    {%- endfor %}
    {{- "\n</functions>\nReply with {\"name\": <name>, \"arguments\": <object>} inside <call></call>.<|stop|>\n" }}
{%- elif messages[0]['role'] == 'system' %}
    {{- '<|start|>system\n' ~ messages[0]['content'] ~ '<|stop|>\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'system' and loop.first %}
        {#- written above #}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|start|>user' }}
        {%- endif %}
        {{- '\n<response>\n' + message.content + '\n</response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|stop|>\n' }}
        {%- endif %}
    {%- elif message.role == 'assistant' and message.tool_calls %}
        {{- '<|start|>assistant' }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for call in message.tool_calls %}
            {%- if call.function is defined %}
                {%- set call = call.function %}
            {%- endif %}
            {{- '\n<call>\n{"name": "' + call.name + '", "arguments": ' }}
            {%- if call.arguments is string %}
                {{- call.arguments }}
            {%- else %}
                {{- call.arguments | tojson }}
            {%- endif %}
            {{- '}\n</call>' }}
        {%- endfor %}
        {{- '<|stop|>\n' }}
    {%- else %}
        {{- '<|start|>' + message.role + '\n' + message.content + '<|stop|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start|>assistant\n' }}
{%- endif %}
"""

# Reasoning: the last user query found by a reversed loop with a namespace, <think> blocks split
# out of the content with string methods, reasoning_content, enable_thinking.
TEMPLATES["reasoning_turns"] = r"""{%- set state = namespace(looking=true, last_user=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set position = (messages|length - 1) - loop.index0 %}
    {%- if state.looking and message.role == 'user' and message.content is string
          and not (message.content.startswith('<response>') and message.content.endswith('</response>')) %}
        {%- set state.looking = false %}
        {%- set state.last_user = position %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set text = message.content if message.content is string else '' %}
    {%- if message.role == 'assistant' %}
        {%- set thought = '' %}
        {%- if message.reasoning_content is string %}
            {%- set thought = message.reasoning_content %}
        {%- elif '</think>' in text %}
            {%- set thought = text.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- set text = text.split('</think>')[-1].lstrip('\n') %}
        {%- endif %}
        {{- '<|start|>assistant\n' }}
        {%- if loop.index0 > state.last_user and (loop.last or thought) %}
            {{- '<think>\n' + thought.strip('\n') + '\n</think>\n\n' }}
        {%- endif %}
        {{- text.lstrip('\n') }}
        {%- if message.tool_calls %}
            {%- for call in message.tool_calls %}
                {%- if (loop.first and text) or not loop.first %}{{ '\n' }}{% endif %}
                {%- set fn = call.function if call.function else call %}
                {{- '<call>' ~ fn.name ~ ' ' ~ (fn.arguments if fn.arguments is string else fn.arguments | tojson) ~ '</call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|stop|>\n' }}
    {%- elif message.role == 'tool' %}
        {{- '<|start|>user\n<response>\n' + text + '\n</response><|stop|>\n' }}
    {%- else %}
        {{- '<|start|>' + message.role + '\n' + text + '<|stop|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}
"""

# Header-style turns: defaults for undefined variables, strftime_now, the system message sliced
# off the messages, tools in the first user turn or the system turn, builtin tools, trim, items.
TEMPLATES["header_turns"] = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "01 Jan 2000" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- The system message, when there is one, moves into the header. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|header|>system<|/header|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: sandbox\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Builtins: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n" }}
{%- endif %}
{{- "Date: " + date_string + " (" + strftime_now("%A %H:%M:%S") + ")\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot|>" }}
{%- if tools_in_user_message and not tools is none %}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("No user message to carry the tools.") }}
    {%- endif %}
    {{- '<|header|>user<|/header|>\n\n' -}}
    {{- "Functions:\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=2) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|header|>' + message['role'] + '<|/header|>\n\n'+ message['content'] | trim + '<|eot|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("One tool call per message, please.") }}
        {%- endif %}
        {%- set call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and call.name in builtin_tools %}
            {{- '<|header|>assistant<|/header|>\n\n<|python|>' + call.name + ".call(" }}
            {%- for arg_name, arg_val in call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
            {%- endfor %}
            {{- ")" }}
        {%- else %}
            {{- '<|header|>assistant<|/header|>\n\n' -}}
            {{- '{"name": "' + call.name + '", "parameters": ' }}
            {{- call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {{- "<|eom|>" if builtin_tools is defined else "<|eot|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|header|>ipython<|/header|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|header|>assistant<|/header|>\n\n' }}
{%- endif %}
"""

# Everything on one line: a namespace with several fields, is none / is not none, `in` and
# `not in` on a message, the answer after </think>, mid-line whitespace control.
TEMPLATES["single_line"] = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(first_call=true, in_tools=false, preamble='', first_preamble=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.first_preamble %}"
    "{% set ns.preamble = ns.preamble + message['content'] %}{% set ns.first_preamble = false %}{%- else %}"
    "{% set ns.preamble = ns.preamble + '\\n\\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}"
    "{{ bos_token }}{{ ns.preamble }}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.in_tools = false -%}"
    "{{ '<|User|>' + message['content'] }}{%- endif %}"
    "{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.in_tools = false -%}"
    "{%- for call in message['tool_calls'] %}{%- if ns.first_call %}"
    "{{ '<|Assistant|>' ~ (message['content'] if message['content'] is not none else '') ~ '<|calls|><|call|>'"
    " + call['type'] + '<|sep|>' + call['function']['name'] + '\\n```json\\n' + (call['function']['arguments']"
    " if call['function']['arguments'] is string else call['function']['arguments'] | tojson) + '\\n```<|/call|>' }}"
    "{%- set ns.first_call = false %}{%- else %}"
    "{{ '\\n<|call|>' + call['type'] + '<|sep|>' + call['function']['name'] + '\\n```json\\n' +"
    " (call['function']['arguments'] if call['function']['arguments'] is string else"
    " call['function']['arguments'] | tojson) + '\\n```<|/call|>' }}{%- endif %}{%- endfor %}"
    "{{ '<|/calls|><|eos|>' }}{%- endif %}"
    "{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.in_tools %}"
    "{{ '<|/outputs|>' + message['content'] + '<|eos|>' }}{%- set ns.in_tools = false -%}{%- else %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}{{ '<|Assistant|>' + content + '<|eos|>' }}"
    "{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- if not ns.in_tools %}"
    "{{ '<|outputs|><|output|>' + message['content'] + '<|/output|>' }}{%- set ns.in_tools = true -%}"
    "{%- else %}{{ '\\n<|output|>' + message['content'] + '<|/output|>' }}{%- endif %}{%- endif %}"
    "{%- endfor -%}{% if ns.in_tools %}{{ '<|/outputs|>' }}{% endif %}"
    "{% if add_generation_prompt and not ns.in_tools %}{{ '<|Assistant|><think>\\n' }}{% endif %}"
)

# Instruction turns: role alternation checked with a namespace counter and %, the tools list
# before the last user message (dict equality), dict items() in a filtered loop, tool call ids,
# slicing a JSON string, a tool result's content printed with |string.
TEMPLATES["instruction_turns"] = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}
{%- set counter = namespace() %}
{%- set counter.turn = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.get('tool_calls')) %}
        {%- if (message["role"] == "user") != (counter.turn % 2 == 0) %}
            {{- raise_exception("Turns must alternate between user and assistant.") }}
        {%- endif %}
        {%- set counter.turn = counter.turn + 1 %}
    {%- endif %}
{%- endfor %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "parameters" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {{- ", " if not loop.last else "]" }}
            {%- endfor %}
            {{- "[/TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Call ids have nine characters.") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {{- ", " if not loop.last else "]" + eos_token }}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[RESULTS] {"content": ' + content|string + ", " }}
        {{- '"call_id": "' + message.tool_call_id + '"}[/RESULTS]' }}
    {%- else %}
        {{- raise_exception("Unexpected role " ~ message.role) }}
    {%- endif %}
{%- endfor %}
"""

# Content given as a string or as a list of blocks; dict.get; `in` a list literal; a dotted
# attribute path in map.
TEMPLATES["content_blocks"] = r"""{%- for message in messages %}
    {%- if message['content'] is string %}
        {{- '[' + message['role']|upper + '] ' + message['content'] }}
    {%- elif message['content'] is not defined %}
        {{- '[' + message['role']|upper + '] (no content)' }}
    {%- else %}
        {{- '[' + message['role']|upper + ']' }}
        {%- for block in message['content'] %}
            {%- if block['type'] == 'text' %}
                {{- ' ' + block['text'] }}
            {%- elif block['type'] in ['image', 'image_url'] %}
                {{- ' [IMG]' }}
            {%- else %}
                {{- raise_exception('Unknown block type ' + block['type']) }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
    {%- if message.get('tool_calls') %}
        {{- ' calls=' + message.get('tool_calls')|map(attribute='function.name')|join(',') }}
    {%- endif %}
    {{- '\n' }}
{%- endfor %}
"""

# Scoping: a set inside a loop stays in its iteration, a namespace carries state out, nested
# loops have their own loop variables, top-level set inside if, reassigning messages.
TEMPLATES["scoping"] = r"""{%- set outer = 'outer' %}
{%- for m in messages %}
    {%- if loop.first %}{% set outer = 'changed in loop' %}{% set inner = 'inner' %}{% endif %}
    {{- m.role ~ ':' ~ outer ~ ':' ~ (inner if inner is defined else 'no inner') ~ '\n' }}
{%- endfor %}
{{- outer ~ ' ' ~ (inner is defined) ~ '\n' }}
{%- set counters = namespace(users=0, chars=0, roles=[]) %}
{%- for m in messages %}
    {%- if m.role == 'user' %}{% set counters.users = counters.users + 1 %}{% endif %}
    {%- set counters.chars = counters.chars + (m.content|length if m.content is string else 0) %}
    {%- set counters.roles = counters.roles + [m.role] %}
    {%- for word in (m.content if m.content is string else '').split()[:2] %}
        {{- loop.index ~ '.' ~ word ~ ' ' }}
    {%- endfor %}
    {{- '(' ~ loop.index ~ ')\n' }}
{%- endfor %}
{{- counters.users ~ ' users, ' ~ counters.chars ~ ' characters, roles ' ~ counters.roles|join('/') }}
{%- if messages|length > 1 %}{% set top = 'set in if' %}{% endif %}
{{- '\n' ~ (top | default('not set')) }}
{%- set messages = messages[1:] %}
{{- '\nafter slicing: ' ~ messages|length }}
"""

# transformers' {% generation %} block marks the assistant's tokens; it renders its body.
TEMPLATES["generation_block"] = r"""{%- for message in messages %}
{{- '<|' + message.role + '|>' }}
{%- if message.role == 'assistant' %}
{% generation %}
{{- (message.content if message.content is string else '') + '<|end|>' }}
{% endgeneration %}
{%- else %}
{{- (message.content if message.content is string else message.content|tojson) + '<|end|>' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|assistant|>{% endif %}
"""

# Whitespace control: lstrip_blocks, trim_blocks, - and + markers, comments, raw blocks, tabs.
TEMPLATES["whitespace"] = (
    "Line one\n"
    "    {% if true %}\n"
    "    indented text after a stripped tag\n"
    "    {% endif %}\n"
    "  {{ 'a variable keeps its indentation' }}\n"
    "{# a comment on its own line #}\n"
    "after the comment\n"
    "{%- if true %}   stripped left   {% endif -%}\n"
    "   right stripped\n"
    "    {%+ if true %}indentation kept by plus{% endif %}\n"
    "{% if true +%}\n"
    "newline kept by plus\n"
    "{% endif %}\n"
    "text {% if true %}an inline tag keeps the spaces{% endif %} end\n"
    "\t{% if true %}a tab-indented tag{% endif %}\n"
    "{{- ' minus before a variable' }}\n"
    "{{ 'minus after a variable' -}}\n"
    "     joined to this line\n"
    "{#- comment with minus -#}\n"
    "    after a minus comment\n"
    "{% for i in [1, 2] %}\n"
    "    item {{ i }}\n"
    "{% endfor %}\n"
    "{%- raw -%}\n"
    "   raw keeps {{ this }} and {% that %}\n"
    "{%- endraw %}\n"
    "  {% if false %}never{% else %}else branch{% endif %}\n"
    "last line; one trailing newline is dropped\n"
)

# The same kind of template with Windows line endings.
TEMPLATES["crlf_lines"] = (
    "{% for message in messages %}\r\n"
    "    {% if loop.first %}\r\n"
    "first: {{ message.role }}\r\n"
    "    {% endif %}\r\n"
    "{{ message.content }}|\r\n"
    "{% endfor %}\r\n"
    "{{ 'multi\r\nline literal' }}\r\n"
)

# Python semantics: arithmetic, printing, string methods, filters, tests, loops, literals.
TEMPLATES["python_semantics"] = r"""{#- Arithmetic and printing follow Python. #}
{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }}
{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 123456789.0 }} {{ 1e100 }} {{ -0.0 }} {{ 3.0 }} {{ 1_000 }} {{ 0x1f }} {{ true + 1 }} {{ -3|abs }} {{ -2.5|abs }} {{ 2.5e-3 * 2 }}
{{ 'a' ~ 1 ~ none ~ true ~ 2.5 ~ undefined_name }} {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ (1,) + (2,) }} {{ [0] * 3 }}
{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ none == none }} {{ 'x' != 'y' }} {{ 2 in [1, 2] }} {{ 'ell' in 'hello' }} {{ 'k' not in {'k': 1} }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }}
{{ none or 'fallback' }} {{ 'first' or 'second' }} {{ 0 and 'never' }} {{ 'yes' if numbers else 'no' }} {{ 'shown' if false }}|{{ not none }}
{{ numbers }} {{ record }} {{ record|string }} {{ (1, 'two') }} {{ (1,) }} {{ ['quote\'s', "dq\"", 'both\'"', 'tab\tnl\n', 'back\\slash', 'nbsp\u00a0', 'zwj\U0001F469\u200d\U0001F4BB'] }}
{{ record|tojson }} {{ record|tojson(sort_keys=true) }} {{ record|tojson(indent=2) }} {{ record|tojson(separators=(',', ':')) }} {{ record|tojson(ensure_ascii=true) }} {{ numbers|tojson }} {{ 'ctl\u0001\x7f'|tojson }}
{{ text|length }} {{ text|trim }} {{ text.strip() }} {{ text[2:7] }} {{ text[-4:] }} {{ text[::-1] }} {{ text[::3] }} {{ text[1] }} {{ text[-1] }} {{ 'MiXeD cAsE'|lower }} {{ 'shout'|upper }} {{ 'hello wide-world (x'|title }} {{ 'hello world'|capitalize }} {{ 'one two'.title() }} {{ 'x'.upper() ~ 'Y'.lower() }}
{{ 'a,b,,c'.split(',') }} {{ '  spaced   out  '.split() }} {{ 'k=v=w'.split('=', 1) }} {{ 'k=v=w'.rsplit('=', 1) }} {{ 'x\ny\r\nz'.splitlines() }} {{ '--a--'.strip('-') }} {{ '--a--'.lstrip('-') }} {{ '--a--'.rstrip('-') }} {{ '\n\nx\n'.strip('\n') }}
{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'banana'.replace('a', 'o') }} {{ 'banana'.replace('a', 'o', 2) }} {{ 'banana'|replace('an', 'AN') }} {{ 'banana'.find('n') }} {{ 'banana'.rfind('n') }} {{ 'banana'.count('a') }} {{ '-'.join(['x', 'y']) }} {{ 'prefix-body'.removeprefix('prefix-') }} {{ '日本語'.find('語') }}
{{ numbers|length }} {{ numbers|first }} {{ numbers|last }} {{ numbers|select('number')|list }} {{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} {{ ['b', 'a']|reverse|list }} {{ 'abc'|list }} {{ record|list }} {{ record|items|list }} {{ 'abc'|reverse }}
{{ [{'n': 'x'}, {'n': 'y'}]|map(attribute='n')|join('+') }} {{ ['a', 'b']|map('upper')|list }} {{ [{'n': 1}, {}]|map(attribute='n', default=0)|list }} {{ [{'r': 'u'}, {'r': 'a'}]|selectattr('r', 'equalto', 'u')|list }} {{ [{'r': 'u'}, {'r': 'a'}]|rejectattr('r', 'equalto', 'u')|list }} {{ none|selectattr('r')|list }}
{{ '42'|int + 1 }} {{ '3.9'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 'nope'|float }} {{ 5|float }} {{ missing|default('dflt') }} {{ ''|default('empty', true) }} {{ none|d('n') }} {{ 5|string ~ '!' }} {{ [1, 2]|join }} {{ 'a\nb\n\nc'|indent(2) }} {{ 'a\nb'|indent('> ', true) }}
{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b='two') }} {{ {'x': 1}.get('x') }} {{ {'x': 1}.get('y', 'none here') }} {{ {'x': 1, 'y': 2}.keys()|list }} {{ {'x': 1, 'y': 2}.values()|list }} {{ {'x': 1}['x'] }} {{ record.b }} {{ record['a'][1] }} {{ record.a.0 }}
{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ true is boolean }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is number }} {{ 'x' is string }} {{ record is mapping }} {{ numbers is sequence }} {{ 'x' is iterable }} {{ 5 is iterable }} {{ raise_exception is callable }} {{ 2 is in [1, 2] }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ none is sameas none }} {{ 1 is eq 1 }} {{ 1 is lt 2 }} {{ 1 is ge 2 }} {{ missing is undefined }} {{ none is none }} {{ false is false }} {{ true is true }} {{ 'x' is not none }}
{{ "it's" }} {{ 'say "hi"' }} {{ 'adjacent' 'strings' }} {{ '\x41\u00e9\U0001F600\101\n'|tojson }} {{ '\d stays' }}
{%- for row in [[1, 'a'], [2, 'b']] %} {{ loop.index }}/{{ loop.length }}:{{ row[0] }}{{ row[1] }} rev{{ loop.revindex }}{{ loop.revindex0 }} {{ loop.first }}{{ loop.last }} prev={{ loop.previtem }} next={{ loop.nextitem }}{% endfor %}
{% for key, val in record|items %}{{ key }}={{ val }};{% endfor %}
{% for n in numbers if n is number and n > 0 %}{{ n }},{% else %}none{% endfor %}
{% for n in [] %}{{ n }}{% else %}empty loop{% endfor %}
{% for n in range(10) %}{% if n == 2 %}{% continue %}{% endif %}{% if n > 4 %}{% break %}{% endif %}{{ n }}{% endfor %}
{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}/{{ loop.index }} {% endfor %}
{% set greeting | upper %}hello {{ 'block' }}{% endset %}{{ greeting }} {% set plain %}raw block{% endset %}{{ plain }}
{% raw %}{{ not rendered }} {% also not %}{% endraw %}
{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }} {{ messages[0].role }} {{ messages|length }} {{ messages[5] is defined }}
"""

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "What is 17 * 3?"}],
    "system_multi_turn": [
        {"role": "system", "content": "You are a careful assistant.  "},
        {"role": "user", "content": "こんにちは！ 2+2 は？ 😀"},
        {"role": "assistant", "content": "<think>\nSimple addition.\n</think>\n\n答えは 4 です。"},
        {"role": "user", "content": "  And 3 + 3?  "},
    ],
    "reasoning_content": [
        {"role": "user", "content": "Solve x + 1 = 3."},
        {"role": "assistant", "content": "x = 2", "reasoning_content": "Subtract one from both sides."},
        {"role": "user", "content": "Now 2x = 8?"},
        {"role": "assistant", "content": "\nx = 4", "reasoning_content": "\nDivide both sides by two.\n"},
    ],
    "tool_round_trip": [
        {"role": "system", "content": "Use the tools when they help."},
        {"role": "user", "content": "What is the weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
        {"role": "tool", "content": "{\"temperature\": 21, \"sky\": \"sunny ☀\"}", "tool_call_id": "call12345"},
        {"role": "assistant", "content": "It is 21 °C and sunny in Zürich."},
    ],
    "parallel_tool_calls": [
        {"role": "user", "content": "Compute 6*7 and 2**10."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "abcdefghi", "type": "function",
             "function": {"name": "calculate", "arguments": "{\"expression\": \"6*7\"}"}},
            {"id": "jklmnopqr", "type": "function",
             "function": {"name": "calculate", "arguments": "{\"expression\": \"2**10\"}"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "abcdefghi"},
        {"role": "tool", "content": "1024", "tool_call_id": "jklmnopqr"},
        {"role": "assistant", "content": "6*7 = 42 and 2**10 = 1024."},
    ],
    "tool_result_object": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "weather01", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "content": {"content": {"sky": "snow", "temperature": -3.5}}, "tool_call_id": "weather01"},
        {"role": "assistant", "content": "Snowing, -3.5 °C."},
    ],
    "roles_not_alternating": [
        {"role": "user", "content": "First question."},
        {"role": "user", "content": "Second question."},
    ],
    "content_blocks": [
        {"role": "user", "content": [{"type": "text", "text": "Describe this picture."}, {"type": "image"}]},
        {"role": "assistant", "content": "A cat on a mat."},
    ],
    "escapes": [
        {"role": "system", "content": "Quotes ' and \" and a backslash \\ and {{ braces }} and {% tags %}."},
        {"role": "user", "content": "Tab\there, line\nbreak, NBSP\u00a0here, separator\u2028there, family \U0001F468\u200d\U0001F469\u200d\U0001F467."},
        {"role": "assistant", "content": "Noted: ünïcödé — ok."},
    ],
}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city, e.g. Zürich"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}
CALCULATOR_TOOL = {"type": "function", "function": {
    "name": "calculate", "description": "Evaluate an arithmetic expression",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
TOOL_SETS = {"none": None, "weather_and_calculator": [WEATHER_TOOL, CALCULATOR_TOOL]}

ALL = list(CONVERSATIONS)
BOTH = [False, True]
# template -> (conversations, add_generation_prompt values, tool sets, variable sets)
PLAN = {
    "chatml_trimmed": (ALL, BOTH, ["none"], [{}]),
    "tool_turns": (ALL, BOTH, ["none", "weather_and_calculator"], [{}]),
    "reasoning_turns": (ALL, BOTH, ["none"], [{}, {"enable_thinking": False}, {"enable_thinking": True}]),
    "header_turns": (ALL, BOTH, ["none", "weather_and_calculator"], [
        {}, {"tools_in_user_message": False, "date_string": "05 May 2025"},
        {"builtin_tools": ["brave_search", "code_interpreter", "get_weather"]}]),
    "single_line": (ALL, BOTH, ["none"], [{}]),
    "instruction_turns": (ALL, [False], ["none", "weather_and_calculator"], [{}]),
    "content_blocks": (ALL, [False], ["none"], [{}]),
    "scoping": (ALL, [False], ["none"], [{}]),
    "generation_block": (ALL, BOTH, ["none"], [{}]),
    "whitespace": (["single_user"], [False], ["none"], [{}]),
    "crlf_lines": (["system_multi_turn"], [False], ["none"], [{}]),
    "python_semantics": (["single_user"], [False], ["none"], [{
        "numbers": [3, 1.5, -2, 0, True],
        "record": {"b": 2, "a": [1, "x", None], "é": "ü"},
        "text": "  Grüße, 世界! \U0001F44B\U0001F3FD  "}]),
}


def make_tokenizer():
    """A one-word tokenizer: apply_chat_template only needs its special tokens."""
    vocabulary = {"<unk>": 0, BOS_TOKEN: 1, EOS_TOKEN: 2}
    backend = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(__file__), "..", "tests", "text", "chat_template", "golden", "chat_templates.json"))
    chat_template_utils.datetime = FrozenDatetime
    tokenizer = make_tokenizer()
    cases = []
    for template_name, (conversations, generation_flags, tool_sets, variable_sets) in PLAN.items():
        for conversation_name in conversations:
            for add_generation_prompt in generation_flags:
                for tool_set in tool_sets:
                    for variables in variable_sets:
                        case = {"template": template_name, "conversation": conversation_name,
                                "add_generation_prompt": add_generation_prompt, "tools": tool_set,
                                "variables": variables}
                        try:
                            case["expected"] = tokenizer.apply_chat_template(
                                CONVERSATIONS[conversation_name], chat_template=TEMPLATES[template_name],
                                tools=TOOL_SETS[tool_set], add_generation_prompt=add_generation_prompt,
                                tokenize=False, **variables)
                        except Exception as failure:  # the template rejects this conversation
                            case["expected_error"] = f"{type(failure).__name__}: {failure}"
                        cases.append(case)
    fixture = {
        "generator": "tools/make_golden_chat_templates.py",
        "transformers_version": transformers.__version__,
        "jinja2_version": jinja2.__version__,
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "local_time": list(LOCAL_TIME),
        "templates": TEMPLATES,
        "conversations": CONVERSATIONS,
        "tool_sets": TOOL_SETS,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as file:
        json.dump(fixture, file, ensure_ascii=False, indent=1)
        file.write("\n")
    errors = sum("expected_error" in case for case in cases)
    print(f"wrote {out}: {len(cases)} cases ({errors} where the template raises)")


if __name__ == "__main__":
    main()
