#include "support/config_builder.h"

#include <fmt/format.h>

namespace sluice::testing {
namespace {

// `lines` with a final newline (none when empty).
std::string Lines(const std::string& lines) {
  if (lines.empty() || lines.back() == '\n') return lines;
  return lines + "\n";
}

}  // namespace

TargetSpec PrimaryTarget(std::string name, std::string driver, std::string connection,
                         int priority) {
  TargetSpec t;
  t.name = std::move(name);
  t.priority = priority;
  t.driver = std::move(driver);
  t.connection = std::move(connection);
  return t;
}

TargetSpec ReplicaTarget(std::string name, std::string driver, std::string connection) {
  TargetSpec t;
  t.name = std::move(name);
  t.role = "replica";
  t.driver = std::move(driver);
  t.connection = std::move(connection);
  return t;
}

ConfigBuilder& ConfigBuilder::DataDir(std::string dir) {
  data_dir_ = std::move(dir);
  return *this;
}

ConfigBuilder& ConfigBuilder::Listen(int port) {
  listen_.push_back(fmt::format("127.0.0.1:{}", port));
  return *this;
}

ConfigBuilder& ConfigBuilder::LogLevel(std::string level) {
  log_level_ = std::move(level);
  return *this;
}

ConfigBuilder& ConfigBuilder::NodeLines(std::string lines) {
  node_lines_ += Lines(lines);
  return *this;
}

ConfigBuilder& ConfigBuilder::JournalLines(std::string lines) {
  journal_lines_ += Lines(lines);
  return *this;
}

ConfigBuilder& ConfigBuilder::NoAuth() {
  auth_set_ = true;
  auth_required_ = false;
  tokens_.clear();
  return *this;
}

ConfigBuilder& ConfigBuilder::Token(std::string name, std::string token,
                                    std::vector<std::string> roles) {
  auth_set_ = true;
  auth_required_ = true;
  tokens_.push_back({std::move(name), std::move(token), std::move(roles)});
  return *this;
}

ConfigBuilder& ConfigBuilder::Target(TargetSpec target) {
  targets_.push_back(std::move(target));
  return *this;
}

ConfigBuilder& ConfigBuilder::Primary(std::string name, std::string driver,
                                      std::string connection, int priority) {
  return Target(PrimaryTarget(std::move(name), std::move(driver), std::move(connection), priority));
}

ConfigBuilder& ConfigBuilder::Replica(std::string name, std::string driver,
                                      std::string connection) {
  return Target(ReplicaTarget(std::move(name), std::move(driver), std::move(connection)));
}

ConfigBuilder& ConfigBuilder::Extra(std::string toml) {
  extra_ += "\n" + Lines(toml);
  return *this;
}

std::string ConfigBuilder::Toml() const {
  std::string listen;
  for (const auto& a : listen_) listen += fmt::format("{}\"{}\"", listen.empty() ? "" : ", ", a);
  std::string out = fmt::format("[node]\nid = \"{}\"\ndata_dir = \"{}\"\n", node_id_, data_dir_);
  if (!listen_.empty()) out += fmt::format("listen = [{}]\n", listen);
  out += fmt::format("log_level = \"{}\"\n", log_level_) + node_lines_;
  if (!journal_lines_.empty()) out += "\n[journal]\n" + journal_lines_;
  if (auth_set_) out += fmt::format("\n[auth]\nrequired = {}\n", auth_required_);
  for (const auto& t : tokens_) {
    std::string roles;
    for (const auto& r : t.roles) roles += fmt::format("{}\"{}\"", roles.empty() ? "" : ", ", r);
    out += fmt::format("\n[[auth.token]]\nname = \"{}\"\ntoken = \"{}\"\nroles = [{}]\n", t.name,
                       t.token, roles);
  }
  for (const auto& t : targets_) {
    out += fmt::format("\n[[target]]\nname = \"{}\"\nrole = \"{}\"\n", t.name, t.role);
    if (t.priority >= 0) out += fmt::format("priority = {}\n", t.priority);
    out += fmt::format("driver = \"{}\"\nconnection = \"{}\"\n", t.driver, t.connection) +
           Lines(t.extra);
  }
  return out + extra_;
}

}  // namespace sluice::testing
