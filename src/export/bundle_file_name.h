#pragma once
// Bundle file names: the sequence number in 20 decimal digits, then ".slb"
// ("00000000000000000042.slb"). Fixed width, so that names sort as their numbers do in a
// directory listing, and the number is readable by an operator on either side.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::oneway {

inline constexpr std::string_view kBundleFileExtension = ".slb";

// REQUIRES: sequence >= 1.
std::string BundleFileName(uint64_t sequence);

// The sequence number of a bundle file name, or nullopt for anything else: another
// length or extension, a character that is not a digit, 0, a number above 2^64 - 1.
// Temporary files and what an operator leaves in an inbox are therefore never taken for
// bundles.
std::optional<uint64_t> ParseBundleFileName(std::string_view name);

}  // namespace sluice::oneway
