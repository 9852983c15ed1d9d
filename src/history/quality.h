#pragma once
// How a sample's quality bits (v1::QualityBit, proto/sluice/v1/records.proto) map to the
// three OPC UA severities that aggregates work with (OPC UA Part 13 §5.4.3, StatusCode
// calculation).
//
//   no bit set (QUALITY_GOOD)            Good
//   QUALITY_SUBSTITUTED alone            Good: a value an operator entered by hand is
//                                        trusted (OPC UA Good_LocalOverride)
//   QUALITY_INVALID, with any other bit  Bad
//   QUALITY_QUESTIONABLE, QUALITY_OVERFLOW, QUALITY_OLD_DATA (without INVALID)
//                                        Uncertain
//   any bit records.proto does not name  Uncertain: not known to be good, not known to be
//                                        bad; the caller sees it in WorstQuality
//
// Pure functions; thread-safe.

#include <cstdint>
#include <string_view>

namespace sluice::history {

// Ordered from best to worst, so that std::max gives the worse of two.
enum class Severity { kGood = 0, kUncertain = 1, kBad = 2 };

Severity ClassifyQuality(uint32_t quality_bits);
std::string_view SeverityName(Severity severity);  // "Good", "Uncertain", "Bad"

}  // namespace sluice::history
