// The interval walker (interval_walker.h): pieces cover every interval exactly and in
// order, raw samples land in their interval, intervals close as soon as time passes their
// end, and extreme grids do not overflow.

#include "history/interval_walker.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::history {
namespace {

// Records every call and checks the order of calls as they come.
class CheckingSink final : public IntervalSink {
 public:
  void OnPiece(const IntervalSpan& span, const Piece& piece) override {
    EXPECT_EQ(span.index, static_cast<int64_t>(closed_.size()));
    EXPECT_EQ(piece.from_us, covered_to_) << "pieces must be contiguous";
    EXPECT_GT(piece.to_us, piece.from_us);
    EXPECT_GE(piece.from_us, span.start_us);
    EXPECT_LE(piece.to_us, span.end_us);
    if (piece.left != nullptr) {
      EXPECT_LE(piece.left->ts_us, piece.from_us);
    }
    if (piece.right != nullptr) {
      EXPECT_GE(piece.right->ts_us, piece.to_us);
    }
    covered_to_ = piece.to_us;
    covered_in_interval_ += piece.to_us - piece.from_us;
  }
  void OnRaw(const IntervalSpan& span, const RawSample& sample) override {
    EXPECT_EQ(span.index, static_cast<int64_t>(closed_.size()));
    EXPECT_GE(sample.ts_us, span.start_us);
    EXPECT_LT(sample.ts_us, span.end_us);
    EXPECT_EQ(sample.ts_us, covered_to_) << "a sample comes when time has reached it";
    ++raw_;
  }
  void OnClose(const IntervalSpan& span) override {
    EXPECT_EQ(span.index, static_cast<int64_t>(closed_.size()));
    EXPECT_EQ(covered_in_interval_, span.length_us()) << "pieces cover the interval exactly";
    covered_in_interval_ = 0;
    closed_.push_back(span);
  }

  int64_t covered_to_ = 0;
  int64_t covered_in_interval_ = 0;
  int64_t raw_ = 0;
  std::vector<IntervalSpan> closed_;
};

TEST(IntervalWalkerTest, PiecesCoverEveryIntervalAndIntervalsCloseOnTime) {
  const TimeGrid grid{1'000, 1'000 + 10 * 700 + 300, 700};  // 11 intervals, the last partial
  ASSERT_TRUE(ValidateGrid(grid, 100).ok());
  ASSERT_EQ(IntervalCount(grid), 11);
  CheckingSink sink;
  sink.covered_to_ = grid.start_us;
  IntervalWalker walker(grid, &sink);
  ASSERT_TRUE(walker.SetBoundBefore({500, 1, 0}).ok());
  // Irregular times: several per interval, none in some, one on a boundary (1'000 + 2'100).
  int64_t fed = 0;
  for (int64_t t : {1'000, 1'001, 1'699, 3'100, 3'101, 6'000, 8'299}) {
    ASSERT_TRUE(walker.Add({t, static_cast<double>(t), 0}).ok());
    ++fed;
    // Every interval that ended at or before t is closed, and no other.
    EXPECT_EQ(static_cast<int64_t>(sink.closed_.size()), (t - grid.start_us) / grid.step_us);
  }
  ASSERT_TRUE(walker.Finish(RawSample{9'000, 2, 0}).ok());
  EXPECT_EQ(sink.raw_, fed);
  ASSERT_EQ(sink.closed_.size(), 11u);
  for (size_t i = 0; i < sink.closed_.size(); ++i) {
    EXPECT_EQ(sink.closed_[i].start_us, grid.start_us + static_cast<int64_t>(i) * grid.step_us);
    EXPECT_EQ(sink.closed_[i].partial, i == 10);
  }
  EXPECT_EQ(sink.closed_.back().end_us, grid.end_us);
  EXPECT_EQ(sink.closed_.back().length_us(), 300);
}

// The whole int64 time line in four steps: the width does not fit an int64.
TEST(IntervalWalkerTest, ExtremeGridDoesNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const TimeGrid grid{kMin, kMax, int64_t{1} << 62};
  ASSERT_TRUE(ValidateGrid(grid, 10).ok());
  EXPECT_EQ(IntervalCount(grid), 4);
  CheckingSink sink;
  sink.covered_to_ = kMin;
  IntervalWalker walker(grid, &sink);
  ASSERT_TRUE(walker.Add({0, 1, 0}).ok());
  ASSERT_TRUE(walker.Finish(std::nullopt).ok());
  ASSERT_EQ(sink.closed_.size(), 4u);
  EXPECT_EQ(sink.closed_[2].start_us, 0);
  EXPECT_EQ(sink.closed_[3].end_us, kMax);
  EXPECT_TRUE(sink.closed_[3].partial);  // 2^62 - 1 long
  // Step 1 over the same width: 2^64 - 1 intervals, refused by the limit, not wrapped.
  const Status refused = ValidateGrid({kMin, kMax, 1}, 1'000'000);
  EXPECT_NE(refused.message().find("18446744073709551615 intervals"), std::string::npos)
      << refused.ToString();
}

}  // namespace
}  // namespace sluice::history
