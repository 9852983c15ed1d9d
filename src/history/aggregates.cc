// The Part 13 aggregates (see aggregates.h for the semantics and the choices).

#include "history/aggregates.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace sluice::history {
namespace {

struct NamedAggregate {
  Aggregate aggregate;
  std::string_view name;
};

constexpr std::array<NamedAggregate, 25> kAggregates = {{
    {Aggregate::kInterpolative, "Interpolative"},
    {Aggregate::kAverage, "Average"},
    {Aggregate::kTimeAverage, "TimeAverage"},
    {Aggregate::kTotal, "Total"},
    {Aggregate::kMinimum, "Minimum"},
    {Aggregate::kMaximum, "Maximum"},
    {Aggregate::kMinimumActualTime, "MinimumActualTime"},
    {Aggregate::kMaximumActualTime, "MaximumActualTime"},
    {Aggregate::kRange, "Range"},
    {Aggregate::kCount, "Count"},
    {Aggregate::kStart, "Start"},
    {Aggregate::kEnd, "End"},
    {Aggregate::kDelta, "Delta"},
    {Aggregate::kStandardDeviationSample, "StandardDeviationSample"},
    {Aggregate::kStandardDeviationPopulation, "StandardDeviationPopulation"},
    {Aggregate::kVarianceSample, "VarianceSample"},
    {Aggregate::kVariancePopulation, "VariancePopulation"},
    {Aggregate::kDurationGood, "DurationGood"},
    {Aggregate::kDurationBad, "DurationBad"},
    {Aggregate::kPercentGood, "PercentGood"},
    {Aggregate::kPercentBad, "PercentBad"},
    {Aggregate::kWorstQuality, "WorstQuality"},
    {Aggregate::kDurationInStateZero, "DurationInStateZero"},
    {Aggregate::kDurationInStateNonZero, "DurationInStateNonZero"},
    {Aggregate::kNumberOfTransitions, "NumberOfTransitions"},
}};

constexpr std::array<Aggregate, kAggregates.size()> MakeAll() {
  std::array<Aggregate, kAggregates.size()> all{};
  for (size_t i = 0; i < kAggregates.size(); ++i) all[i] = kAggregates[i].aggregate;
  return all;
}
constexpr std::array<Aggregate, kAggregates.size()> kAll = MakeAll();

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr double kUsPerMs = 1e3;
constexpr double kUsPerSecond = 1e6;

}  // namespace

bool ShareAtLeast(int64_t share, int64_t whole, int percent) {
  return static_cast<__int128>(share) * 100 >= static_cast<__int128>(whole) * percent;
}

std::span<const Aggregate> AllAggregates() { return kAll; }

std::string_view AggregateName(Aggregate aggregate) {
  for (const auto& named : kAggregates) {
    if (named.aggregate == aggregate) return named.name;
  }
  return "?";
}

Result<Aggregate> ParseAggregate(std::string_view text) {
  for (const auto& named : kAggregates) {
    if (EqualsIgnoreCase(named.name, text)) return named.aggregate;
  }
  std::string known;
  for (const auto& named : kAggregates) {
    if (!known.empty()) known += ", ";
    known += named.name;
  }
  return Status::InvalidArgument(
      fmt::format("unknown aggregate '{}': known aggregates are {}", text, known));
}

Status ValidateConfig(const AggregateConfig& config) {
  if (config.percent_data_good < 0 || config.percent_data_good > 100) {
    return Status::InvalidArgument(
        fmt::format("aggregate configuration: percent_data_good {} is not within 0..100",
                    config.percent_data_good));
  }
  if (config.percent_data_bad < 0 || config.percent_data_bad > 100) {
    return Status::InvalidArgument(
        fmt::format("aggregate configuration: percent_data_bad {} is not within 0..100",
                    config.percent_data_bad));
  }
  return Status::OK();
}

// The state of one interval, fed by the walker, and the values it gives when it closes.
class AggregateEngine::Accumulator final : public IntervalSink {
 public:
  Accumulator(std::vector<Aggregate> aggregates, const AggregateConfig& config)
      : aggregates_(std::move(aggregates)), config_(config) {}

  void OnPiece(const IntervalSpan& span, const Piece& piece) override {
    const int64_t length = piece.to_us - piece.from_us;
    if (piece.from_us == span.start_us) interpolative_ = Interpolate(piece);
    if (piece.left == nullptr) {
      bad_us_ += length;
      return;
    }
    const Severity severity = ClassifyQuality(piece.left->quality);
    switch (severity) {
      case Severity::kGood:
        good_us_ += length;
        break;
      case Severity::kUncertain:
        uncertain_us_ += length;
        break;
      case Severity::kBad:
        bad_us_ += length;
        break;
    }
    if (!Usable(severity)) return;
    usable_us_ += length;
    const double held = piece.left->value;
    (held == 0 ? zero_us_ : nonzero_us_) += length;
    if (Slopes(piece)) {
      integral_ += (ValueAt(piece, piece.from_us) + ValueAt(piece, piece.to_us)) / 2 *
                   static_cast<double>(length);
    } else {
      integral_ += held * static_cast<double>(length);
    }
  }

  void OnRaw(const IntervalSpan&, const RawSample& sample) override {
    const Severity severity = ClassifyQuality(sample.quality);
    ++raw_count_;
    if (severity == Severity::kGood) ++raw_good_;
    if (severity == Severity::kUncertain) ++raw_uncertain_;
    if (severity == Severity::kBad) ++raw_bad_;
    if (!first_raw_) first_raw_ = sample;
    last_raw_ = sample;
    if (!worst_ || severity > *worst_) {
      worst_ = severity;
      worst_bits_ = sample.quality;
    }
    if (!Usable(severity)) return;
    if (previous_usable_ && *previous_usable_ != sample.value) ++transitions_;
    previous_usable_ = sample.value;
    ++n_;
    // Welford: stable where sum of squares minus square of sum is not.
    const double delta = sample.value - mean_;
    mean_ += delta / static_cast<double>(n_);
    m2_ += delta * (sample.value - mean_);
    if (n_ == 1 || sample.value < min_) {
      min_ = sample.value;
      min_ts_ = sample.ts_us;
    }
    if (n_ == 1 || sample.value > max_) {
      max_ = sample.value;
      max_ts_ = sample.ts_us;
    }
    if (n_ == 1) first_usable_ = sample.value;
    last_usable_ = sample.value;
  }

  void OnClose(const IntervalSpan& span) override {
    IntervalResult result;
    result.span = span;
    result.values.reserve(aggregates_.size());
    for (Aggregate aggregate : aggregates_) result.values.push_back(Compute(aggregate, span));
    closed_.push_back(std::move(result));
    ResetInterval();
  }

  std::vector<IntervalResult> TakeClosed() { return std::exchange(closed_, {}); }

  // The bound before is the previous usable sample for the first interval's transitions.
  void SeedPrevious(const RawSample& sample) {
    if (Usable(ClassifyQuality(sample.quality))) previous_usable_ = sample.value;
  }

 private:
  bool Usable(Severity severity) const {
    return severity == Severity::kGood ||
           (severity == Severity::kUncertain && !config_.treat_uncertain_as_bad);
  }
  bool UsableSample(const RawSample* sample) const {
    return sample != nullptr && Usable(ClassifyQuality(sample->quality));
  }
  bool Slopes(const Piece& piece) const {
    return !config_.stepped && UsableSample(piece.left) && UsableSample(piece.right);
  }
  // REQUIRES: Slopes(piece).
  static double ValueAt(const Piece& piece, int64_t t) {
    const double fraction = static_cast<double>(t - piece.left->ts_us) /
                            static_cast<double>(piece.right->ts_us - piece.left->ts_us);
    return piece.left->value + (piece.right->value - piece.left->value) * fraction;
  }

  AggregateValue Interpolate(const Piece& piece) const {
    AggregateValue out;
    out.ts_us = piece.from_us;
    if (!UsableSample(piece.left)) return out;  // Bad, absent
    const Severity left = ClassifyQuality(piece.left->quality);
    if (piece.left->ts_us == piece.from_us || config_.stepped) {
      out.value = piece.left->value;
      out.status = left;
    } else if (Slopes(piece)) {
      out.value = ValueAt(piece, piece.from_us);
      out.status = std::max(left, ClassifyQuality(piece.right->quality));
    } else {
      out.value = piece.left->value;  // stepped extrapolation: the next is unusable or unknown
      out.status = Severity::kUncertain;
    }
    return out;
  }

  Severity TimeStatus(const IntervalSpan& span) const {
    const int64_t bad = bad_us_ + (config_.treat_uncertain_as_bad ? uncertain_us_ : 0);
    if (ShareAtLeast(bad, span.length_us(), config_.percent_data_bad)) return Severity::kBad;
    if (ShareAtLeast(good_us_, span.length_us(), config_.percent_data_good)) return Severity::kGood;
    return Severity::kUncertain;
  }
  Severity CountStatus() const {
    if (raw_count_ == 0) return Severity::kBad;
    const int64_t bad = raw_bad_ + (config_.treat_uncertain_as_bad ? raw_uncertain_ : 0);
    if (ShareAtLeast(bad, raw_count_, config_.percent_data_bad)) return Severity::kBad;
    if (ShareAtLeast(raw_good_, raw_count_, config_.percent_data_good)) return Severity::kGood;
    return Severity::kUncertain;
  }

  AggregateValue Compute(Aggregate aggregate, const IntervalSpan& span) const {
    AggregateValue out;
    out.ts_us = span.start_us;
    const double length_us = static_cast<double>(span.length_us());
    auto timed = [&](std::optional<double> value) {
      out.value = value;
      out.status = TimeStatus(span);
    };
    auto counted = [&](std::optional<double> value) {
      out.value = value;
      out.status = CountStatus();
    };
    auto always_good = [&](double value) {
      out.value = value;
      out.status = Severity::kGood;
    };
    auto if_any = [&](int64_t needed, double value) -> std::optional<double> {
      if (n_ < needed) return std::nullopt;
      return value;
    };
    const double variance_population = n_ > 0 ? m2_ / static_cast<double>(n_) : 0;
    const double variance_sample = n_ > 1 ? m2_ / static_cast<double>(n_ - 1) : 0;
    switch (aggregate) {
      case Aggregate::kInterpolative:
        return interpolative_;
      case Aggregate::kTimeAverage:
        timed(usable_us_ > 0 ? std::optional(integral_ / static_cast<double>(usable_us_))
                             : std::nullopt);
        break;
      case Aggregate::kTotal:
        timed(usable_us_ > 0 ? std::optional(integral_ / kUsPerSecond) : std::nullopt);
        break;
      case Aggregate::kAverage:
        counted(if_any(1, mean_));
        break;
      case Aggregate::kMinimum:
        counted(if_any(1, min_));
        break;
      case Aggregate::kMaximum:
        counted(if_any(1, max_));
        break;
      case Aggregate::kMinimumActualTime:
        counted(if_any(1, min_));
        if (n_ > 0) out.ts_us = min_ts_;
        break;
      case Aggregate::kMaximumActualTime:
        counted(if_any(1, max_));
        if (n_ > 0) out.ts_us = max_ts_;
        break;
      case Aggregate::kRange:
        counted(if_any(1, max_ - min_));
        break;
      case Aggregate::kCount:
        out.value = static_cast<double>(n_);
        out.status = raw_count_ > 0 ? CountStatus() : TimeStatus(span);
        break;
      case Aggregate::kStart:
      case Aggregate::kEnd: {
        const std::optional<RawSample>& sample =
            aggregate == Aggregate::kStart ? first_raw_ : last_raw_;
        if (sample) {
          out.value = sample->value;
          out.status = ClassifyQuality(sample->quality);
        }
        break;
      }
      case Aggregate::kDelta:
        counted(if_any(1, last_usable_ - first_usable_));
        break;
      case Aggregate::kStandardDeviationSample:
        counted(if_any(2, std::sqrt(variance_sample)));
        break;
      case Aggregate::kStandardDeviationPopulation:
        counted(if_any(1, std::sqrt(variance_population)));
        break;
      case Aggregate::kVarianceSample:
        counted(if_any(2, variance_sample));
        break;
      case Aggregate::kVariancePopulation:
        counted(if_any(1, variance_population));
        break;
      case Aggregate::kDurationGood:
        always_good(static_cast<double>(usable_us_) / kUsPerMs);
        break;
      case Aggregate::kDurationBad:
        always_good(static_cast<double>(span.length_us() - usable_us_) / kUsPerMs);
        break;
      case Aggregate::kPercentGood:
        always_good(static_cast<double>(usable_us_) * 100 / length_us);
        break;
      case Aggregate::kPercentBad:
        always_good(static_cast<double>(span.length_us() - usable_us_) * 100 / length_us);
        break;
      case Aggregate::kWorstQuality:
        if (worst_) always_good(static_cast<double>(worst_bits_));
        break;
      case Aggregate::kDurationInStateZero:
        timed(static_cast<double>(zero_us_) / kUsPerMs);
        break;
      case Aggregate::kDurationInStateNonZero:
        timed(static_cast<double>(nonzero_us_) / kUsPerMs);
        break;
      case Aggregate::kNumberOfTransitions:
        timed(static_cast<double>(transitions_));
        break;
    }
    return out;
  }

  void ResetInterval() {
    interpolative_ = AggregateValue{};
    good_us_ = uncertain_us_ = bad_us_ = usable_us_ = zero_us_ = nonzero_us_ = 0;
    integral_ = 0;
    raw_count_ = raw_good_ = raw_uncertain_ = raw_bad_ = 0;
    first_raw_.reset();
    last_raw_.reset();
    worst_.reset();
    worst_bits_ = 0;
    transitions_ = 0;
    n_ = 0;
    mean_ = m2_ = min_ = max_ = first_usable_ = last_usable_ = 0;
    min_ts_ = max_ts_ = 0;
  }

  const std::vector<Aggregate> aggregates_;
  const AggregateConfig config_;
  std::vector<IntervalResult> closed_;

  // Time in the interval, µs: by severity (no data counts as bad), usable, by state.
  AggregateValue interpolative_;
  int64_t good_us_ = 0, uncertain_us_ = 0, bad_us_ = 0, usable_us_ = 0;
  int64_t zero_us_ = 0, nonzero_us_ = 0;
  double integral_ = 0;  // value x µs over usable time
  // Raw samples in the interval.
  int64_t raw_count_ = 0, raw_good_ = 0, raw_uncertain_ = 0, raw_bad_ = 0;
  std::optional<RawSample> first_raw_, last_raw_;
  std::optional<Severity> worst_;
  uint32_t worst_bits_ = 0;
  int64_t transitions_ = 0;
  std::optional<double> previous_usable_;  // carried across intervals
  // Usable raw samples in the interval.
  int64_t n_ = 0;
  double mean_ = 0, m2_ = 0, min_ = 0, max_ = 0, first_usable_ = 0, last_usable_ = 0;
  int64_t min_ts_ = 0, max_ts_ = 0;
};

Result<std::unique_ptr<AggregateEngine>> AggregateEngine::Create(std::vector<Aggregate> aggregates,
                                                                 const TimeGrid& grid,
                                                                 const AggregateConfig& config,
                                                                 int64_t max_intervals) {
  if (aggregates.empty()) return Status::InvalidArgument("aggregates: none requested");
  SLUICE_RETURN_IF_ERROR(ValidateGrid(grid, max_intervals));
  SLUICE_RETURN_IF_ERROR(ValidateConfig(config));
  return std::unique_ptr<AggregateEngine>(new AggregateEngine(std::move(aggregates), grid, config));
}

AggregateEngine::AggregateEngine(std::vector<Aggregate> aggregates, const TimeGrid& grid,
                                 const AggregateConfig& config)
    : accumulator_(std::make_unique<Accumulator>(std::move(aggregates), config)),
      walker_(std::make_unique<IntervalWalker>(grid, accumulator_.get())) {}

AggregateEngine::~AggregateEngine() = default;

Status AggregateEngine::SetBoundBefore(const RawSample& sample) {
  SLUICE_RETURN_IF_ERROR(walker_->SetBoundBefore(sample));
  accumulator_->SeedPrevious(sample);
  return Status::OK();
}

Status AggregateEngine::Add(const RawSample& sample) { return walker_->Add(sample); }

Status AggregateEngine::AddBatch(std::span<const RawSample> samples) {
  return walker_->AddBatch(samples);
}

Status AggregateEngine::Finish(const std::optional<RawSample>& bound_after) {
  return walker_->Finish(bound_after);
}

std::vector<IntervalResult> AggregateEngine::TakeClosed() { return accumulator_->TakeClosed(); }

}  // namespace sluice::history
