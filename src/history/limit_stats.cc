// Limit excursions and the pass rate per interval (see limit_stats.h for the semantics).

#include "history/limit_stats.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "history/quality.h"

namespace sluice::history {

Status ValidateLimitConfig(const LimitConfig& config) {
  if (!config.high && !config.low) {
    return Status::InvalidArgument("limits: neither a high nor a low limit is given");
  }
  if (config.high && !std::isfinite(*config.high)) {
    return Status::InvalidArgument("limits: the high limit is not a finite number");
  }
  if (config.low && !std::isfinite(*config.low)) {
    return Status::InvalidArgument("limits: the low limit is not a finite number");
  }
  if (config.high && config.low && *config.low > *config.high) {
    return Status::InvalidArgument(fmt::format(
        "limits: the low limit {} is above the high limit {}", *config.low, *config.high));
  }
  return Status::OK();
}

class LimitStatsEngine::Accumulator final : public IntervalSink {
 public:
  explicit Accumulator(const LimitConfig& config) : config_(config) {}

  void OnPiece(const IntervalSpan&, const Piece& piece) override {
    const int64_t length = piece.to_us - piece.from_us;
    if (piece.left == nullptr || !Usable(*piece.left)) {
      EndExcursion();
      return;
    }
    current_.usable_us += length;
    const State state = StateOf(piece.left->value);
    if (state == State::kWithin) {
      EndExcursion();
      return;
    }
    if (!open_ || open_->state != state) {
      EndExcursion();
      open_ = Excursion{state, piece.from_us, 0};
      ++Stats(state).count;
    }
    open_->stretch_us += length;
    Stats(state).total_us += length;
  }

  void OnRaw(const IntervalSpan&, const RawSample&) override {}

  void OnClose(const IntervalSpan& span) override {
    // The excursion goes on into the next interval: its stretch here is done.
    if (open_) {
      Consider(*open_);
      open_->stretch_us = 0;
    }
    current_.span = span;
    if (current_.usable_us > 0) {
      current_.pass_rate =
          1.0 - static_cast<double>(current_.above.total_us + current_.below.total_us) /
                    static_cast<double>(current_.usable_us);
    }
    closed_.push_back(std::exchange(current_, LimitIntervalResult{}));
  }

  // An excursion under way at the range's start began before it: not counted here.
  void SeedBefore(const RawSample& sample) {
    if (!Usable(sample)) return;
    const State state = StateOf(sample.value);
    if (state != State::kWithin) open_ = Excursion{state, sample.ts_us, 0};
  }

  std::vector<LimitIntervalResult> TakeClosed() { return std::exchange(closed_, {}); }

 private:
  enum class State { kWithin, kAbove, kBelow };
  struct Excursion {
    State state;
    int64_t start_us;
    int64_t stretch_us;  // inside the current interval
  };

  bool Usable(const RawSample& sample) const {
    const Severity severity = ClassifyQuality(sample.quality);
    return severity == Severity::kGood ||
           (severity == Severity::kUncertain && !config_.treat_uncertain_as_bad);
  }
  State StateOf(double value) const {
    if (config_.high && value > *config_.high) return State::kAbove;
    if (config_.low && value < *config_.low) return State::kBelow;
    return State::kWithin;
  }
  ExcursionStats& Stats(State state) {
    return state == State::kAbove ? current_.above : current_.below;
  }
  void Consider(const Excursion& excursion) {
    ExcursionStats& stats = Stats(excursion.state);
    // Strictly longer: of equal stretches the first one stays.
    if (excursion.stretch_us > stats.longest_us) {
      stats.longest_us = excursion.stretch_us;
      stats.longest_start_us = excursion.start_us;
    }
  }
  void EndExcursion() {
    if (!open_) return;
    Consider(*open_);
    open_.reset();
  }

  const LimitConfig config_;
  LimitIntervalResult current_;
  std::optional<Excursion> open_;
  std::vector<LimitIntervalResult> closed_;
};

Result<std::unique_ptr<LimitStatsEngine>> LimitStatsEngine::Create(const LimitConfig& config,
                                                                   const TimeGrid& grid,
                                                                   int64_t max_intervals) {
  SLUICE_RETURN_IF_ERROR(ValidateLimitConfig(config));
  SLUICE_RETURN_IF_ERROR(ValidateGrid(grid, max_intervals));
  return std::unique_ptr<LimitStatsEngine>(new LimitStatsEngine(config, grid));
}

LimitStatsEngine::LimitStatsEngine(const LimitConfig& config, const TimeGrid& grid)
    : accumulator_(std::make_unique<Accumulator>(config)),
      walker_(std::make_unique<IntervalWalker>(grid, accumulator_.get())) {}

LimitStatsEngine::~LimitStatsEngine() = default;

Status LimitStatsEngine::SetBoundBefore(const RawSample& sample) {
  SLUICE_RETURN_IF_ERROR(walker_->SetBoundBefore(sample));
  accumulator_->SeedBefore(sample);
  return Status::OK();
}

Status LimitStatsEngine::Add(const RawSample& sample) { return walker_->Add(sample); }

Status LimitStatsEngine::AddBatch(std::span<const RawSample> samples) {
  return walker_->AddBatch(samples);
}

Status LimitStatsEngine::Finish(const std::optional<RawSample>& bound_after) {
  return walker_->Finish(bound_after);
}

std::vector<LimitIntervalResult> LimitStatsEngine::TakeClosed() {
  return accumulator_->TakeClosed();
}

}  // namespace sluice::history
