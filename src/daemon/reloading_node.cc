#include "daemon/reloading_node.h"

#include "common/log.h"

namespace sluice::daemon {
namespace {

void OpenLog(const config::Config& config) {
  log::Init(config.node.log_level, config.node.log_file);
  for (const auto& w : config.warnings) SLUICE_LOG_WARN("config: {}", w);
}

}  // namespace

ReloadingNode::ReloadingNode(NodeOptions options, std::function<void()> on_handed)
    : options_(std::move(options)), on_handed_(std::move(on_handed)) {
  options_.apply_reload = [this](ReloadPlan plan) {
    {
      std::lock_guard lk(mu_);
      handed_ = std::move(plan);
    }
    on_handed_();
  };
}

Status ReloadingNode::OpenAndStart(config::Config config) {
  SLUICE_ASSIGN_OR_RETURN(node_, Node::Open(std::move(config), options_));
  Status started = node_->Start();
  if (!started.ok()) {
    node_->Shutdown().IgnoreError();  // the start error is the one that matters
    node_.reset();
  }
  return started;
}

Status ReloadingNode::Start(config::Config config) { return OpenAndStart(std::move(config)); }

Status ReloadingNode::Reload() {
  if (!node_) return Status::FailedPrecondition("sluiced is not running");
  std::optional<ReloadPlan> plan;
  {
    std::lock_guard lk(mu_);
    plan.swap(handed_);
  }
  if (!plan) {
    auto claimed = node_->ClaimReload("SIGHUP");
    if (!claimed.ok()) {
      // Also when Admin.ReloadConfig claimed the reload a moment ago: its own wake-up
      // comes next and applies it.
      SLUICE_LOG_ERROR("SIGHUP: reload refused: {}", claimed.status().message());
      return claimed.status();
    }
    plan = std::move(claimed).value();
  }
  if (plan->diff.empty()) {
    OpenLog(node_->config());
    SLUICE_LOG_INFO("reload: the config file has not changed; the log file was reopened");
    return Status::OK();
  }
  for (const auto& n : plan->notes) SLUICE_LOG_WARN("reload: {}", n);
  config::Config running = node_->config();
  const auto began = std::chrono::steady_clock::now();
  Status stopped = node_->Shutdown();
  node_.reset();
  if (!stopped.ok()) SLUICE_LOG_ERROR("reload: stopping the node: {}", stopped.ToString());

  OpenLog(plan->next);
  Status opened = OpenAndStart(plan->next);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  if (opened.ok()) {
    SLUICE_LOG_INFO("sluiced reloaded its config in {} ms: {}", ms.count(), node_->Summary());
    return Status::OK();
  }
  SLUICE_LOG_ERROR("reload: the new config cannot be opened: {}; the previous config is opened again",
                   opened.ToString());
  Node::UndoReload(running, *plan);
  OpenLog(running);
  Status back = OpenAndStart(running);
  if (!back.ok()) {
    SLUICE_LOG_ERROR("reload: the previous config cannot be opened again either: {}", back.ToString());
    return back;
  }
  const std::string text = fmt::format("config reload failed: {}; the previous config runs again", opened.ToString());
  SLUICE_LOG_ERROR("{}", text);
  auto lsn = node_->JournalEvent("sluice.config", 2, text);
  if (!lsn.ok()) SLUICE_LOG_ERROR("journaling the failed reload: {}", lsn.status().ToString());
  return opened;
}

Status ReloadingNode::Shutdown() {
  if (!node_) return Status::OK();
  Status s = node_->Shutdown();
  node_.reset();
  return s;
}

}  // namespace sluice::daemon
