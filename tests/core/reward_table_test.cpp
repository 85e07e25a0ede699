#include <doctest/doctest.h>

#include "rlft/core/reward_table.hpp"

using doctest::Contains;

TEST_CASE("reward_table keeps one named column per component and a total") {
  rlft::reward_table rewards(3);
  CHECK(rewards.num_components() == 0);
  const auto accuracy = rewards.add_component("accuracy");
  const auto format = rewards.add_component("format");
  CHECK(accuracy == 0);
  CHECK(format == 1);
  CHECK(rewards.component_name(format) == "format");
  CHECK(rewards.find("format") == format);
  CHECK_FALSE(rewards.find("length").has_value());

  rewards.component("accuracy")[2] = 1.0f;
  rewards.component(format)[0] = 0.5f;
  CHECK(rewards.component(accuracy)[2] == 1.0f);
  CHECK(rewards.component("format")[0] == 0.5f);
  CHECK(rewards.component("format")[2] == 0.0f);
  CHECK(rewards.total().size() == 3);
  CHECK(rewards.component_names().size() == 2);
}

TEST_CASE("reward_table rejects empty, duplicate and unknown names") {
  rlft::reward_table rewards(2);
  rewards.add_component("accuracy");
  CHECK_THROWS_WITH_AS(rewards.add_component(""), Contains("non-empty name"), rlft::error);
  CHECK_THROWS_WITH_AS(rewards.add_component("accuracy"), Contains("'accuracy' already exists"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(rewards.component("format"), Contains("no component named 'format'"),
                       rlft::error);
}
