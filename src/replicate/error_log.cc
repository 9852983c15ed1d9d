#include "replicate/error_log.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sluice::replicate {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ErrorLog::AppendLine(const std::string& line) {
  std::lock_guard lk(mu_);
  if (!file_) {
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(DirName(path_)));
    bool existed = fs_->Exists(path_);
    auto f = existed ? fs_->ReopenWritableFile(path_) : fs_->NewWritableFile(path_, false);
    if (!f.ok()) return f.status();
    file_ = std::move(f).value();
    if (!existed) SLUICE_RETURN_IF_ERROR(fs_->SyncDir(DirName(path_)));
  }
  Status s = file_->Append(line);
  if (s.ok()) s = file_->Sync();
  if (!s.ok()) file_.reset();  // reopen next time; a half line is skipped by List
  return s;
}

Status ErrorLog::AppendRejection(const ErrorRecord& r) {
  nlohmann::json j = {{"event", "rejected"},  {"target", r.target},   {"stream", r.stream},
                      {"lsn", r.lsn},         {"kind", r.kind},       {"message", r.message},
                      {"record", r.record_b64}, {"payload", r.payload_json},
                      {"failed_at_us", r.failed_at_us}};
  return AppendLine(j.dump() + "\n");
}

Status ErrorLog::MarkResolved(const std::string& stream, uint64_t lsn, const std::string& state) {
  nlohmann::json j = {{"event", state}, {"stream", stream}, {"lsn", lsn}, {"at_us", NowMicros()}};
  return AppendLine(j.dump() + "\n");
}

namespace {

Result<std::vector<ErrorRecord>> ReadLog(FileSystem* fs, const std::string& path) {
  std::vector<ErrorRecord> out;
  if (!fs->Exists(path)) return out;
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, path));
  std::map<std::pair<std::string, uint64_t>, ErrorRecord> folded;
  std::istringstream in(text);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j.contains("stream") ||
        !j.contains("lsn")) {
      // Only a torn last line (a crash during an append) is expected; anything else is
      // damage the operator must hear about.
      if (in.peek() == EOF) continue;
      return Status::Corruption(fmt::format("{}:{}: not an error-log entry", path, line_no));
    }
    auto key = std::make_pair(j["stream"].get<std::string>(), j["lsn"].get<uint64_t>());
    std::string event = j["event"].get<std::string>();
    if (event == "rejected") {
      ErrorRecord r;
      r.target = j.value("target", "");
      r.stream = key.first;
      r.lsn = key.second;
      r.kind = j.value("kind", "");
      r.message = j.value("message", "");
      r.record_b64 = j.value("record", "");
      r.payload_json = j.value("payload", "");
      r.failed_at_us = j.value("failed_at_us", int64_t{0});
      auto it = folded.find(key);
      if (it == folded.end() || it->second.state != "open") {
        folded[key] = std::move(r);  // rejected again after a retry: open again
      }
    } else if (auto it = folded.find(key); it != folded.end()) {
      it->second.state = event;
      it->second.resolved_at_us = j.value("at_us", int64_t{0});
    }
  }
  for (auto& [k, r] : folded) out.push_back(std::move(r));
  return out;
}

bool Matches(const ErrorRecord& r, const ErrorFilter& f) {
  if (f.target && r.target != *f.target) return false;
  if (f.stream && r.stream != *f.stream) return false;
  if (f.since_us && r.failed_at_us < *f.since_us) return false;
  if (f.until_us && r.failed_at_us > *f.until_us) return false;
  if (!f.include_resolved && r.state != "open") return false;
  return true;
}

}  // namespace

Result<std::vector<ErrorRecord>> ErrorLog::List(const ErrorFilter& filter) const {
  std::lock_guard lk(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto all, ReadLog(fs_, path_));
  std::vector<ErrorRecord> out;
  for (auto& r : all) {
    if (Matches(r, filter)) out.push_back(std::move(r));
  }
  return out;
}

Result<ErrorRecord> ErrorLog::Find(const std::string& stream, uint64_t lsn) const {
  ErrorFilter f;
  f.stream = stream;
  f.include_resolved = true;
  SLUICE_ASSIGN_OR_RETURN(auto all, List(f));
  for (auto& r : all) {
    if (r.lsn == lsn) return r;
  }
  return Status::NotFound(fmt::format("{}: no rejected record at LSN {} of stream '{}'", path_, lsn, stream));
}

Result<std::vector<ErrorRecord>> ListErrors(FileSystem* fs, const std::string& data_dir,
                                            const ErrorFilter& filter) {
  std::string dir = JoinPath(data_dir, "errors");
  std::vector<ErrorRecord> out;
  if (!fs->Exists(dir)) return out;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.size() < 5 || n.substr(n.size() - 4) != ".log") continue;
    SLUICE_ASSIGN_OR_RETURN(auto recs, ReadLog(fs, JoinPath(dir, n)));
    for (auto& r : recs) {
      if (Matches(r, filter)) out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace sluice::replicate
