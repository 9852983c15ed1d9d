#include "cluster/target_state.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sluice::cluster {

Result<std::unique_ptr<TargetStateStore>> TargetStateStore::Open(FileSystem* fs, std::string path) {
  std::unique_ptr<TargetStateStore> s(new TargetStateStore(fs, std::move(path)));
  if (!fs->Exists(s->path_)) return s;
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, s->path_));
  try {
    auto j = nlohmann::json::parse(text);
    for (const auto& [name, t] : j.at("targets").items()) {
      s->targets_[name] = Entry{t.at("enabled").get<bool>(), t.value("changed_at_us", int64_t{0})};
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
  targets_[target] = Entry{enabled, std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()};
  Status s = SaveLocked();
  if (!s.ok()) targets_ = std::move(old);
  return s;
}

Status TargetStateStore::SaveLocked() const {
  nlohmann::json targets = nlohmann::json::object();
  for (const auto& [name, e] : targets_) {
    targets[name] = {{"enabled", e.enabled}, {"changed_at_us", e.changed_at_us}};
  }
  nlohmann::json j = {{"format", 1}, {"targets", std::move(targets)}};
  return WriteFileAtomically(fs_, path_, j.dump(1) + "\n")
      .Annotate(fmt::format("saving target state to {}", path_));
}

}  // namespace sluice::cluster
