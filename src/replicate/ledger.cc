#include "replicate/ledger.h"

#include <iterator>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::replicate {

void StreamLedger::NoteApplied(const std::string& target, uint64_t lsn) {
  bool changed;
  {
    std::lock_guard lk(mu_);
    uint64_t& w = applied_[target];
    if (lsn > w) w = lsn;
    changed = EvaluateLocked();
  }
  Changed(changed);
}

void StreamLedger::NoteRejected(const std::string& target, uint64_t lsn) {
  bool changed;
  {
    std::lock_guard lk(mu_);
    rejected_[lsn].insert(target);
    changed = EvaluateLocked();
  }
  Changed(changed);
}

void StreamLedger::NoteRetried(const std::string& target, uint64_t lsn) {
  bool changed;
  {
    std::lock_guard lk(mu_);
    auto it = rejected_.find(lsn);
    if (it != rejected_.end()) {
      it->second.erase(target);
      if (it->second.empty()) rejected_.erase(it);
    }
    // Applied after all: the target holds what its peers hold again, unless another
    // rejection still sets it apart.
    changed = diverged_.erase(target) > 0;
    changed = EvaluateLocked() || changed;
  }
  Changed(changed);
}

void StreamLedger::Adopt(const std::string& target, const std::string& source, uint64_t watermark) {
  {
    std::lock_guard lk(mu_);
    for (auto it = rejected_.begin(); it != rejected_.end();) {
      it->second.erase(target);
      if (it->first <= watermark && it->second.count(source)) it->second.insert(target);
      it = it->second.empty() ? rejected_.erase(it) : std::next(it);
    }
    applied_[target] = watermark;
    diverged_.erase(target);
    EvaluateLocked();
  }
  Changed(true);
}

std::vector<uint64_t> StreamLedger::Accept(const std::string& target) {
  std::vector<uint64_t> accepted;
  {
    std::lock_guard lk(mu_);
    for (auto it = rejected_.begin(); it != rejected_.end();) {
      const auto& [lsn, rejecters] = *it;
      bool applied_elsewhere = false;
      for (const auto& [other, watermark] : applied_) {
        if (watermark >= lsn && !rejecters.count(other)) applied_elsewhere = true;
      }
      if (rejecters.count(target) && applied_elsewhere) {
        accepted.push_back(lsn);
        it->second.erase(target);
      }
      it = it->second.empty() ? rejected_.erase(it) : std::next(it);
    }
    diverged_.erase(target);
    EvaluateLocked();
  }
  Changed(true);
  return accepted;
}

void StreamLedger::NoteDiverged(const std::string& target, const std::string& reason) {
  {
    std::lock_guard lk(mu_);
    if (diverged_.count(target)) return;
    SLUICE_LOG_ERROR("target '{}' has diverged: {}", target, reason);
    diverged_[target] = reason;
  }
  Changed(true);
}

bool StreamLedger::EvaluateLocked() {
  bool changed = false;
  for (const auto& [lsn, rejecters] : rejected_) {
    for (const auto& [other, watermark] : applied_) {
      if (watermark < lsn || rejecters.count(other)) continue;
      // `other` has passed `lsn` without rejecting it: it applied it.
      for (const auto& t : rejecters) {
        if (diverged_.count(t)) continue;
        std::string why = fmt::format("rejected LSN {} which target '{}' applied", lsn, other);
        SLUICE_LOG_ERROR("target '{}' has diverged: {}", t, why);
        diverged_[t] = why;
        changed = true;
      }
    }
  }
  return changed;
}

bool StreamLedger::diverged(const std::string& target) const {
  std::lock_guard lk(mu_);
  return diverged_.count(target) > 0;
}

std::string StreamLedger::divergence(const std::string& target) const {
  std::lock_guard lk(mu_);
  auto it = diverged_.find(target);
  return it == diverged_.end() ? std::string() : it->second;
}

std::map<std::string, std::string> StreamLedger::Diverged() const {
  std::lock_guard lk(mu_);
  return diverged_;
}

}  // namespace sluice::replicate
