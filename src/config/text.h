#pragma once
// Text helpers of the config parser: did-you-mean suggestions, quoting, paths.
// Internal to sluice_config.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config::internal {

// True when `s` holds only spaces and tabs (or nothing).
bool IsBlank(std::string_view s);

// The candidate closest to `word`, if it is close enough to be a plausible typo (edit
// distance ignoring case, at most a third of the candidate's length).
std::optional<std::string_view> Closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// "a/./b/../c/" -> "a/c": no trailing slash, so that equal paths compare equal.
std::string NormalPath(const std::filesystem::path& path);

// "'a', 'b' or 'c'" with `quote` around each word.
std::string JoinQuoted(const std::vector<std::string_view>& words, char quote);

}  // namespace sluice::config::internal
