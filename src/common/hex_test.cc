#include "common/hex.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(HexTest, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string hex = HexEncode(all);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  EXPECT_EQ(HexDecode(hex), all);
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexDecode(""), std::string());
}

TEST(HexTest, AnythingButLowercaseDigitPairsIsRefused) {
  for (std::string_view bad : {"0", "abc", "0g", "AB", "0x01", "1 ", "zz"}) {
    EXPECT_EQ(HexDecode(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace sluice
