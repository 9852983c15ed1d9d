#pragma once
// What `sluice status --watch` adds to each page: per target, a bar of how much of its
// backlog it has applied since the watch began (the backlog it had then, or, for a target
// that was caught up then, the one it had when it first lagged), with its rate and ETA.
// Fed the successive Admin.Status answers; no I/O, so it is tested on made-up answers
// (status_watch_test.cc).
//
// Thread safety: none; one watch loop owns it.

#include <cstdint>
#include <map>
#include <string>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// "[#########...........]": `fraction` (clamped to 0..1) of `width` cells filled.
std::string ProgressBar(double fraction, size_t width);

class CatchUpWatch {
 public:
  // Takes the next answer, received at `now_us`. A target's backlog is fixed by the first
  // answer in which it is known, or, when it had none, by the first in which it lags.
  void Observe(const v1::StatusResponse& s, int64_t now_us);

  // The fraction of `target`'s backlog applied so far (1 when it had none); -1 for a
  // target never observed.
  double Fraction(const v1::StatusResponse& s, const std::string& target) const;

  // "catch-up since 12:00:01.234 UTC (10.0s):" and one line per target of `s`: name, bar,
  // percent of its backlog applied, and its catch-up now (lag, rate, ETA).
  std::string Render(const v1::StatusResponse& s, int64_t now_us) const;

 private:
  struct Backlog {
    int64_t since_us = 0;
    uint64_t records = 0;  // sum over streams of head - applied, then
    // stream -> (applied, head) when the backlog was fixed.
    std::map<std::string, std::pair<uint64_t, uint64_t>> streams;
  };
  static Backlog Take(const v1::StatusResponse& s, const std::string& target, int64_t now_us);

  int64_t began_us_ = 0;
  std::map<std::string, Backlog> backlogs_;
};

}  // namespace sluice::cli
