#include "cluster/target_state.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/wall_clock.h"

namespace sluice::cluster {
namespace {

constexpr int kFormat = 2;

}  // namespace

Result<std::unique_ptr<TargetStateStore>> TargetStateStore::Open(FileSystem* fs, std::string path) {
  std::unique_ptr<TargetStateStore> s(new TargetStateStore(fs, std::move(path)));
  if (!fs->Exists(s->path_)) return s;
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, s->path_));
  try {
    auto j = nlohmann::json::parse(text);
    const int format = j.value("format", 1);
    if (format < 1 || format > kFormat) {
      return Status::Corruption(fmt::format(
          "{}: target state format {} is not known to this sluiced (it reads 1 to {}); it was "
          "written by a later version",
          s->path_, format, kFormat));
    }
    for (const auto& [name, t] : j.at("targets").items()) {
      Entry e;
      if (t.contains("enabled")) e.enabled = t.at("enabled").get<bool>();
      e.changed_at_us = t.value("changed_at_us", int64_t{0});
      e.resync_from = t.value("resync_from", std::string());
      e.resync_since_us = t.value("resync_since_us", int64_t{0});
      s->targets_[name] = std::move(e);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(fmt::format(
        "{}: not a valid target state file ({}); fix or remove it (removing it re-enables "
        "every target the config enables)",
        s->path_, e.what()));
  }
  return s;
}

std::optional<bool> TargetStateStore::enabled(const std::string& target) const {
  std::lock_guard lk(mu_);
  auto it = targets_.find(target);
  if (it == targets_.end()) return std::nullopt;
  return it->second.enabled;
}

Status TargetStateStore::SetEnabled(const std::string& target, bool enabled) {
  std::lock_guard lk(mu_);
  auto old = targets_;
  Entry& e = targets_[target];
  e.enabled = enabled;
  e.changed_at_us = NowMicros();
  Status s = SaveLocked();
  if (!s.ok()) targets_ = std::move(old);
  return s;
}

std::optional<std::string> TargetStateStore::resync_from(const std::string& target) const {
  std::lock_guard lk(mu_);
  auto it = targets_.find(target);
  if (it == targets_.end() || it->second.resync_from.empty()) return std::nullopt;
  return it->second.resync_from;
}

std::map<std::string, std::string> TargetStateStore::Resyncs() const {
  std::lock_guard lk(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [name, e] : targets_) {
    if (!e.resync_from.empty()) out[name] = e.resync_from;
  }
  return out;
}

Status TargetStateStore::SetResync(const std::string& target, const std::string& from) {
  std::lock_guard lk(mu_);
  auto old = targets_;
  Entry& e = targets_[target];
  e.resync_from = from;
  e.resync_since_us = from.empty() ? 0 : NowMicros();
  if (!e.enabled && e.resync_from.empty()) targets_.erase(target);  // nothing left to say
  Status s = SaveLocked();
  if (!s.ok()) targets_ = std::move(old);
  return s;
}

Status TargetStateStore::SaveLocked() const {
  nlohmann::json targets = nlohmann::json::object();
  bool resyncs = false;
  for (const auto& [name, e] : targets_) {
    nlohmann::json t = nlohmann::json::object();
    if (e.enabled) t["enabled"] = *e.enabled;
    t["changed_at_us"] = e.changed_at_us;
    if (!e.resync_from.empty()) {
      t["resync_from"] = e.resync_from;
      t["resync_since_us"] = e.resync_since_us;
      resyncs = true;
    }
    targets[name] = std::move(t);
  }
  // Format 1 while nothing needs 2, so a file without a resync stays readable by the
  // versions before resync.
  nlohmann::json j = {{"format", resyncs ? kFormat : 1}, {"targets", std::move(targets)}};
  return WriteFileAtomically(fs_, path_, j.dump(1) + "\n")
      .Annotate(fmt::format("saving target state to {}", path_));
}

}  // namespace sluice::cluster
