#include "daemon/reload_plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sluice::daemon {

std::string ReloadPlan::Describe() const {
  if (diff.empty()) return "the config file has not changed";
  std::vector<std::string> parts;
  for (const auto& name : diff.added_targets) {
    auto r = std::find_if(resyncs.begin(), resyncs.end(), [&](const ReloadResync& x) { return x.target == name; });
    parts.push_back(r != resyncs.end() ? fmt::format("target '{}' added (copied from '{}' first)", name, r->from)
                                       : fmt::format("target '{}' added", name));
  }
  for (const auto& name : diff.removed_targets) {
    parts.push_back(fmt::format("target '{}' removed (its journal cursors stay until `sluice target forget {}`)",
                                name, name));
  }
  for (const auto& t : diff.changed_targets) parts.push_back(fmt::format("target {} changed", t));
  if (!diff.changed_settings.empty()) {
    parts.push_back(fmt::format("settings changed: {}", fmt::join(diff.changed_settings, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

void ReloadPlan::Fill(bool applied, v1::ReloadConfigResponse* out) const {
  out->set_file(next.source);
  for (const auto& t : diff.added_targets) out->add_added_targets(t);
  for (const auto& t : diff.removed_targets) out->add_removed_targets(t);
  for (const auto& t : diff.changed_targets) out->add_changed_targets(t);
  for (const auto& s : diff.changed_settings) out->add_changed_settings(s);
  for (const auto& r : resyncs) {
    auto* x = out->add_resyncs();
    x->set_target(r.target);
    x->set_from(r.from);
  }
  for (const auto& n : notes) out->add_notes(n);
  out->set_applied(applied && !diff.empty());
  if (diff.empty()) {
    out->set_message(applied ? "the config file has not changed; sluiced reopens its log file"
                             : "the config file has not changed");
  } else {
    out->set_message(fmt::format("{}{}", applied ? "reloading: " : "a reload would apply: ", Describe()));
  }
}

}  // namespace sluice::daemon
