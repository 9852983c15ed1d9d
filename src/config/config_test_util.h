#pragma once
// What the config tests (config_test.cc, config_error_test.cc, config_rules_test.cc)
// share: parsing a config from text, its error message, and the smallest valid config.

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "config/config.h"

namespace sluice::config::testing {

inline Result<Config> Parse(std::string_view text) { return ParseConfig(text, "sluiced.toml"); }

// The error message of a config that must not parse.
inline std::string ErrorOf(std::string_view text) {
  Result<Config> r = Parse(text);
  EXPECT_FALSE(r.ok()) << "parsed although it should not:\n" << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

// The smallest valid config; tests append sections to it. 13 lines.
inline constexpr std::string_view kMinimal = R"([node]
id = "n1"
data_dir = "/data"

[auth]
required = false

[[target]]
name = "pg-a"
role = "primary"
priority = 10
driver = "postgres"
connection = "host=a dbname=h"
)";


inline std::string WithMinimal(std::string_view more) { return std::string(kMinimal) + std::string(more); }

}  // namespace sluice::config::testing
