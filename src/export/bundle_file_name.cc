#include "export/bundle_file_name.h"

#include <charconv>

#include <fmt/format.h>

namespace sluice::oneway {
namespace {

constexpr size_t kDigits = 20;

}  // namespace

std::string BundleFileName(uint64_t sequence) {
  return fmt::format("{:020d}{}", sequence, kBundleFileExtension);
}

std::optional<uint64_t> ParseBundleFileName(std::string_view name) {
  if (name.size() != kDigits + kBundleFileExtension.size() ||
      name.substr(kDigits) != kBundleFileExtension) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(0, kDigits);
  uint64_t sequence = 0;
  // For an unsigned type from_chars takes digits only (no sign, no space); it stops at
  // anything else, and says out of range above 2^64 - 1.
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), sequence);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (sequence == 0) return std::nullopt;
  return sequence;
}

}  // namespace sluice::oneway
