#include "export/bundle_file_name.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace sluice::oneway {
namespace {

TEST(BundleFileNameTest, NamesRoundTrip) {
  EXPECT_EQ(BundleFileName(42), "00000000000000000042.slb");
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(BundleFileName(max), "18446744073709551615.slb");
  for (uint64_t sequence : {uint64_t{1}, uint64_t{42}, uint64_t{1} << 40, max}) {
    EXPECT_EQ(ParseBundleFileName(BundleFileName(sequence)), sequence);
  }
}

TEST(BundleFileNameTest, AnythingElseIsRefused) {
  for (const char* name : {
           "",
           ".slb",
           "00000000000000000000.slb",  // sequence numbers start at 1
           "18446744073709551616.slb",  // 2^64
           "99999999999999999999.slb",
           "0000000000000000042.slb",    // 19 digits
           "000000000000000000042.slb",  // 21 digits
           "00000000000000000042.seg",
           "00000000000000000042.slb.tmp",
           "00000000000000000042",
           "0000000000000000004a.slb",
           "-0000000000000000042.slb",
           "+0000000000000000042.slb",
           " 0000000000000000042.slb",
           "00000000000000000042.SLB",
           "00000000000000000042slb",
       }) {
    EXPECT_EQ(ParseBundleFileName(name), std::nullopt) << name;
  }
}

}  // namespace
}  // namespace sluice::oneway
